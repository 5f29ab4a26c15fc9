#include "trace/summary.h"

#include <unordered_map>

#include "common/interval_set.h"

namespace ferry {

Result<TraceSummary> Summarize(TraceReader& reader, std::optional<uint32_t> device) {
  TraceSummary s;
  IntervalSet touched;
  std::unordered_map<uint32_t, uint64_t> last_end;  // per device
  uint64_t sequential = 0, total_bytes = 0;
  IoEvent e;
  for (;;) {
    FERRY_ASSIGN_OR_RETURN(bool more, reader.Next(&e));
    if (!more) break;
    if (device && e.device != *device) continue;
    ++s.records;
    if (e.op == IoOp::kRead) {
      ++s.reads;
      s.read_bytes += e.length;
    } else {
      ++s.writes;
      s.write_bytes += e.length;
    }
    s.span = std::max(s.span, e.time);
    s.highest_offset = std::max(s.highest_offset, e.offset + e.length);
    auto it = last_end.find(e.device);
    if (it != last_end.end() && it->second == e.offset) ++sequential;
    last_end[e.device] = e.offset + e.length;
    total_bytes += e.length;
    touched.Add(e.offset, e.length);
  }
  s.footprint = touched.TotalBytes();
  s.sequential = s.records ? static_cast<double>(sequential) / static_cast<double>(s.records) : 0;
  s.reaccess = total_bytes ? 1.0 - static_cast<double>(s.footprint) / static_cast<double>(total_bytes) : 0;
  s.skipped = reader.skipped();
  return s;
}

}  // namespace ferry
