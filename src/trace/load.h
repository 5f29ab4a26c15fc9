// LoadTrace: one device's events of a trace, in memory, for the commands that need the
// whole sequence (simulate needs the future for its clairvoyant bound; migrate --trace
// feeds it as history).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "ferry/trace.h"

namespace ferry {

struct LoadedTrace {
  std::vector<IoEvent> events;
  uint32_t device = 0;  // the device kept
  size_t devices = 0;   // devices seen in the trace
};

// Reads every event. With `device`, keeps that device's (kInvalidArgument when it has
// none, listing the devices there are); without, a multi-device trace keeps its busiest
// device (devices > 1 tells the caller to say so).
Result<LoadedTrace> LoadTrace(TraceReader& reader, std::optional<uint32_t> device);

}  // namespace ferry
