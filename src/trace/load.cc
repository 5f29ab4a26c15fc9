#include "trace/load.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

namespace ferry {

Result<LoadedTrace> LoadTrace(TraceReader& reader, std::optional<uint32_t> device) {
  LoadedTrace out;
  std::map<uint32_t, uint64_t> per_device;
  IoEvent e;
  for (;;) {
    FERRY_ASSIGN_OR_RETURN(bool more, reader.Next(&e));
    if (!more) break;
    ++per_device[e.device];
    if (!device || e.device == *device) out.events.push_back(e);
  }
  out.devices = per_device.size();
  if (device) {
    if (out.events.empty()) {
      std::string list;
      for (const auto& [d, n] : per_device) list += (list.empty() ? "" : ", ") + std::to_string(d);
      return InvalidArgument("device " + std::to_string(*device) + " has no records in this trace" +
                             (list.empty() ? "" : "; its devices are " + list));
    }
    out.device = *device;
    return out;
  }
  if (per_device.size() > 1) {
    auto busiest = std::max_element(per_device.begin(), per_device.end(),
                                    [](const auto& a, const auto& b) { return a.second < b.second; });
    out.device = busiest->first;
    std::erase_if(out.events, [&](const IoEvent& x) { return x.device != out.device; });
  } else if (!per_device.empty()) {
    out.device = per_device.begin()->first;
  }
  return out;
}

std::string BusiestDeviceNote(const std::string& path, const LoadedTrace& t, const std::string& flag) {
  return "ferry: " + path + " has " + std::to_string(t.devices) + " devices; using the busiest, device " +
         std::to_string(t.device) + " (choose one with " + flag + ")";
}

Result<std::vector<IoEvent>> LoadHistory(const std::vector<std::string>& paths, const HistoryOptions& o) {
  if (!(o.time_scale > 0)) return InvalidArgument("the history's time scale must be positive");
  std::vector<IoEvent> out;
  std::chrono::nanoseconds next_start{0};
  for (const std::string& path : paths) {
    auto reader = OpenTrace(path, o.format, o.read);
    if (!reader.ok()) return reader.status();
    auto t = LoadTrace(**reader, o.device);
    if (!t.ok()) return t.status().WithContext(path);
    if (t->events.empty()) return InvalidArgument(path + ": the trace has no read or write records");
    if (!o.device && t->devices > 1 && o.on_device_chosen) o.on_device_chosen(path, *t);
    std::stable_sort(t->events.begin(), t->events.end(),
                     [](const IoEvent& a, const IoEvent& b) { return a.time < b.time; });
    const std::chrono::nanoseconds first = t->events.front().time;
    for (IoEvent& e : t->events) {
      const double scaled = static_cast<double>((e.time - first).count()) * o.time_scale;
      e.time = next_start + std::chrono::nanoseconds(static_cast<int64_t>(std::llround(scaled)));
      out.push_back(e);
    }
    next_start = out.back().time + std::chrono::milliseconds(1);
  }
  return out;
}

}  // namespace ferry
