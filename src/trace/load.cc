#include "trace/load.h"

#include <algorithm>
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

}  // namespace ferry
