// The control socket of a running `ferry serve` (JOURNAL.ctl by default): one line in,
// one line out. `ferry control JOURNAL CMD` is its client.
//
//   pause          the background copy stops (requests are still served, on demand)
//   resume         it goes on
//   rate SIZE      the background read rate from the source, per second (0: unlimited)
//   abort          stop serving; the destination stays resumable from the journal
//   status         the live status, as JSON
// Replies: "ok[ DETAIL]" or "error MESSAGE".
#pragma once

#include <functional>
#include <string>
#include <thread>

#include "ferry/live.h"
#include "ferry/status.h"

namespace ferry {

std::string ControlSocketPath(const std::string& journal);

class ControlServer {
 public:
  // Listens on `path` (a stale socket there is replaced) for commands on `live`;
  // `on_abort` is called for "abort".
  static Result<std::unique_ptr<ControlServer>> Start(const std::string& path, LiveMigration& live,
                                                      std::function<void()> on_abort,
                                                      std::function<std::string()> status_json);
  ~ControlServer();  // stops listening and removes the socket

 private:
  ControlServer() = default;
  void Run();
  std::string Handle(const std::string& line);
  std::string path_;
  LiveMigration* live_ = nullptr;
  std::function<void()> on_abort_;
  std::function<std::string()> status_json_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::thread thread_;
};

// Sends one command to the control socket at `path`; returns the reply line, or
// kNotFound when nothing listens there.
Result<std::string> SendControl(const std::string& path, const std::string& command);

// `ferry control JOURNAL COMMAND [ARG]`: checks the command and its argument
// (kInvalidArgument: rate needs a size, the others take none), sends it to the serve
// running on `journal`, and returns the reply's detail ("paused", the status JSON; "ok"
// when there is none), or the serve's error as kFailedPrecondition.
Result<std::string> Control(const std::string& journal, const std::string& command, const std::string& arg = "");

}  // namespace ferry
