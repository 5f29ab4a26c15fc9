// Trace writers (`ferry trace convert`, `ferry trace synth`): fio iolog v3, which fio
// replays against a real device, and SNIA MSR-Cambridge CSV.
#pragma once

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

}  // namespace ferry
