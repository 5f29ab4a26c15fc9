// LoadTrace: one device's events of a trace, in memory, for the commands that need the
// whole sequence (simulate needs the future for its clairvoyant bound; migrate --trace
// feeds it as history).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
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

// What to tell the user when LoadTrace kept the busiest of a trace's devices: one line
// naming the trace, the device kept and the flag that chooses another.
std::string BusiestDeviceNote(const std::string& path, const LoadedTrace& t, const std::string& flag);

// A workload's history for a migration (`--history TRACE...`, DESIGN.md "History"): each
// trace's events (one device, as LoadTrace keeps), times multiplied by `time_scale`,
// joined in the order given, each trace starting where the one before ended; the first
// starts at time zero. Errors name the file: one that cannot be read, or has no events.
struct HistoryOptions {
  TraceFormat format = TraceFormat::kAuto;
  std::optional<uint32_t> device;
  double time_scale = 1.0;
  TraceReadOptions read;
  // Called for a trace of several devices of which the busiest was kept.
  std::function<void(const std::string& path, const LoadedTrace&)> on_device_chosen;
};
Result<std::vector<IoEvent>> LoadHistory(const std::vector<std::string>& paths, const HistoryOptions& options);

}  // namespace ferry
