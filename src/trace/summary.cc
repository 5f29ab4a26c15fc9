#include "trace/summary.h"

#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/interval_set.h"
#include "ferry/units.h"

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


namespace {
double SpanSeconds(const TraceSummary& s) { return std::chrono::duration<double>(s.span).count(); }
}  // namespace

std::string TraceSummaryJson(const std::string& path, const TraceSummary& s) {
  return nlohmann::json{{"trace", path},
                        {"records", s.records},
                        {"reads", s.reads},
                        {"writes", s.writes},
                        {"read_bytes", s.read_bytes},
                        {"write_bytes", s.write_bytes},
                        {"span_s", SpanSeconds(s)},
                        {"volume_bytes", s.highest_offset},
                        {"footprint_bytes", s.footprint},
                        {"sequential", s.sequential},
                        {"reaccess", s.reaccess},
                        {"skipped", s.skipped}}
      .dump();
}

std::string TraceSummaryText(const std::string& path, const TraceSummary& s) {
  const double read_share = s.records ? 100.0 * static_cast<double>(s.reads) / static_cast<double>(s.records) : 0;
  std::string out = fmt::format("trace:         {}\n", path);
  out += fmt::format("records:       {} ({:.1f}% reads, {:.1f}% writes)\n", s.records, read_share,
                     s.records ? 100 - read_share : 0.0);
  out += fmt::format("bytes:         {} read, {} written\n", FormatSize(s.read_bytes), FormatSize(s.write_bytes));
  out += fmt::format("time span:     {:.3f} s\n", SpanSeconds(s));
  out += fmt::format("volume:        {} (end of the highest request)\n", FormatSize(s.highest_offset));
  out += fmt::format("footprint:     {} touched\n", FormatSize(s.footprint));
  out += fmt::format("sequential:    {:.1f}% of requests start where the previous one ended\n", 100 * s.sequential);
  out += fmt::format("re-access:     {:.1f}% of bytes accessed had been accessed before\n", 100 * s.reaccess);
  if (s.skipped) out += fmt::format("skipped:       {} malformed records\n", s.skipped);
  return out;
}

std::string TraceWrittenText(const std::string& out, uint64_t n, const std::string& to) {
  if (out == "-") return "";
  if (to != "fio") return fmt::format("ferry: wrote {} records to {} ({})\n", n, out, to);
  return fmt::format("ferry: wrote {} records to {} (fio iolog v3; replay with fio --read_iolog={} --replay_redirect=DEVICE)\n",
                     n, out, out);
}

}  // namespace ferry
