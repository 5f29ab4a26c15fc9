// The HTML report of a live migration (`ferry serve --report FILE`): what the
// application saw (read latency in ferry, waits for the source), how the copy went
// (progress, copy rate by kind), and where on the volume the I/O and the copies were.
#pragma once

#include <string>

#include "ferry/live.h"

namespace ferry::report {

struct LiveRunInfo {
  std::string source, destination, journal, policy, predictor;
};

std::string LiveReport(const LiveRunInfo& info, const LiveStats& stats, const LiveHistory& history);

}  // namespace ferry::report
