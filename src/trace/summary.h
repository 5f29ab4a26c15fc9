// Trace summaries (`ferry trace info`).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "ferry/trace.h"

namespace ferry {

struct TraceSummary {
  uint64_t records = 0, reads = 0, writes = 0;
  uint64_t read_bytes = 0, write_bytes = 0;
  std::chrono::nanoseconds span{0};  // last record's time
  uint64_t highest_offset = 0;       // end of the highest request: the volume it implies
  uint64_t footprint = 0;            // distinct bytes touched
  double sequential = 0;  // share of requests starting where the device's previous one ended
  double reaccess = 0;    // share of accessed bytes that had been accessed before
  uint64_t skipped = 0;   // malformed records passed over
};

// Reads the whole trace; with `device`, only that device's records count.
Result<TraceSummary> Summarize(TraceReader& reader, std::optional<uint32_t> device = std::nullopt);

// What `ferry trace info` prints for the trace at `path`: one figure per line, or one
// JSON object (docs/cli.md).
std::string TraceSummaryText(const std::string& path, const TraceSummary& s);
std::string TraceSummaryJson(const std::string& path, const TraceSummary& s);
// What `ferry trace convert` and `trace synth` say when `n` records went to `out` in
// format `to` ("fio" or "msr"); empty when `out` is standard output ("-").
std::string TraceWrittenText(const std::string& out, uint64_t n, const std::string& to);

}  // namespace ferry
