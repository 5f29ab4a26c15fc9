// Trace writers (`ferry trace convert`, `ferry trace synth`): fio iolog v3, which fio
// replays against a real device, and SNIA MSR-Cambridge CSV.
#pragma once

#include <chrono>
#include <memory>
#include <ostream>
#include <string>

#include "ferry/trace.h"

namespace ferry {

class TraceWriter {
 public:
  virtual ~TraceWriter() = default;
  // Events in time order.
  virtual void Write(const IoEvent& e) = 0;
  // Writes any trailer; the stream's state tells whether writing failed.
  virtual void Finish() = 0;
};

// Whether ferry writes `format` (fio, msr).
bool TraceFormatWritable(TraceFormat format);

// A writer of `format` to `out` (fio or msr). For fio, `target` is the file or device
// named in the log (fio --replay_redirect overrides it); for msr it is the Hostname.
// kInvalidArgument for a format ferry only reads.
Result<std::unique_ptr<TraceWriter>> MakeTraceWriter(TraceFormat format, std::ostream& out, const std::string& target);

// The records written: those of one device (all: dev < 0) within [from, until) of the
// trace's time, their times counted from `from`.
struct TraceWindow {
  int64_t dev = -1;
  std::chrono::nanoseconds from{0};
  std::chrono::nanoseconds until = std::chrono::nanoseconds::max();
};

// Copies the events of `window` from `reader` to a new `format` trace at `path` ("-":
// standard output); returns the number written. kInvalidArgument for a format ferry
// only reads (before anything is created) or a file that cannot be created or written;
// the reader's errors as they are.
Result<uint64_t> WriteTraceFile(TraceReader& reader, const TraceWindow& window, TraceFormat format,
                                const std::string& target, const std::string& path);

}  // namespace ferry
