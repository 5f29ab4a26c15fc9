// TraceRecorder: writes every request a server receives as a trace (`ferry serve
// --record`, `ferry watch --record`; DESIGN.md "History"), in fio iolog v3, which fio
// replays and every ferry command reads (`--history` of a later migration). Times are
// since the recorder was created; the servers record a request as it arrives, so a
// request is recorded at the time the application sent it, whatever it then waited.
// Thread-safe: requests come from many threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>

#include "ferry/status.h"
#include "ferry/trace.h"
#include "trace/writer.h"

namespace ferry {

class TraceRecorder {
 public:
  // Creates `path`; an existing file is refused (kFailedPrecondition), so that a
  // recording is never overwritten: a restart reads it with --history and records anew.
  // `target`: the file named in the log (fio's --replay_redirect overrides it).
  static Result<std::unique_ptr<TraceRecorder>> Create(const std::string& path, const std::string& target);
  // Checks that `path` could be created, creating nothing.
  static Status CheckCreatable(const std::string& path);
  ~TraceRecorder();

  // One request, now. Buffered: written out at least once a second, and by Close.
  void Record(IoOp op, uint64_t offset, uint64_t length);
  // Ends the log and writes it out; later records are dropped. Idempotent.
  Status Close();
  uint64_t records() const;

 private:
  using Clock = std::chrono::steady_clock;
  TraceRecorder(std::string path, std::unique_ptr<std::ofstream> out, const std::string& target);

  const std::string path_;
  const Clock::time_point start_;
  mutable std::mutex mu_;
  std::unique_ptr<std::ofstream> out_;
  std::unique_ptr<TraceWriter> writer_;
  Clock::time_point last_flush_;
  uint64_t records_ = 0;
  bool closed_ = false;
};

}  // namespace ferry
