// serve/session.h: what runs inside nbdkit for `ferry serve` and `ferry watch` (DESIGN.md
// "Who uses it"): the parameters, their checks, the set-up of a live migration (or of a
// watched source), its status, control socket and recording, the verify and release at
// the end, and the summary and report when the server stops. The nbdkit plugin
// (src/nbdkit/plugin.cc) only maps nbdkit's callbacks onto this; nothing here knows
// nbdkit, so a test can run a whole session without a server.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/engine.h"
#include "ferry/export.h"
#include "ferry/status.h"
#include "trace/load.h"

namespace ferry {

// The plugin's parameters (`nbdkit ferry key=value ...`; kServeParamsHelp lists them).
struct ServeConfig {
  std::string source, dest, journal, model, predictor, policy = "adaptive", report, metrics, record;
  std::vector<std::string> history;  // history=TRACE, repeatable
  HistoryOptions history_options;    // how to read it
  uint64_t granule = 64 << 10, rate = 0, min_chunk = 0, max_chunk = 0, min_rate = 0;
  std::chrono::nanoseconds latency_target{0};
  std::chrono::milliseconds source_timeout = MigrateOptions{}.source_timeout;
  int threads = MigrateOptions{}.threads;
  int requests = MigrateOptions{}.max_in_flight;
  bool exit_when_done = false, verify = false, release_source = false;
  bool watch = false;  // watch=true (`ferry watch`): the source itself is served, nothing copied
  std::string status;  // watch's status=FILE
  MigrateOptions options;  // made from the above by CheckServeConfig
};

// Sets one parameter. kInvalidArgument naming the key and what to give for an unknown
// key or a value that does not parse.
Status SetServeParam(ServeConfig* config, std::string_view key, std::string_view value);
// The parameters, one per line, for `nbdkit ferry --help`.
extern const char kServeParamsHelp[];

// Checks the parameters together once all are set: what is required, what needs what,
// the migration's options (config->options, filled here), the policy and predictor
// (resolved here), and that the output files can be written. kInvalidArgument or
// kFailedPrecondition naming the parameter.
Status CheckServeConfig(ServeConfig* config);

// What a session needs from the server it runs in. Every member may be empty.
struct ServeHooks {
  std::function<void()> shutdown;      // stop serving: exit-when-done, after the verify
  std::function<void()> stop_process;  // `ferry control J abort`: stop as on SIGTERM
  std::function<void(const std::string&)> error;  // a failure to log (the run goes on)
  std::function<void(const std::string&)> note;   // a line for the operator
  std::function<void(const std::string&)> debug;  // detail for a verbose log (history lines skipped)
};

class ServeSession {
 public:
  // Reads the history and opens the volumes and the journal to report any error before
  // the server serves, then closes them again (a forking server's threads and
  // connections do not survive its fork; the history does). `config` was checked.
  static Result<std::unique_ptr<ServeSession>> Prepare(const ServeConfig& config, ServeHooks hooks);
  ~ServeSession();

  // Opens everything again and starts: the migration, its status file, metrics,
  // recording and control socket (or the watched source).
  Status Start();
  // What the connections serve; null before Start.
  Export* exported() const { return export_; }
  // The end: cancels a running verify, stops the migration, writes the last status and
  // metrics, closes the recording, notes the summary and writes the report. Idempotent.
  void Stop();

 private:
  struct Running;
  ServeSession(const ServeConfig& config, ServeHooks hooks);
  Status StartWatch();
  void StopWatch();
  void Conclude();
  void Error(const std::string& message) const;
  void Note(const std::string& message) const;

  const ServeConfig config_;
  const ServeHooks hooks_;
  std::vector<IoEvent> history_;  // read by Prepare, learnt by Start
  std::unique_ptr<Running> run_;
  Export* export_ = nullptr;
};

}  // namespace ferry
