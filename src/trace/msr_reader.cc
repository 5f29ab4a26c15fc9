// MSR-Cambridge CSV reader (SNIA IOTTA "MSR Cambridge Traces"):
//   Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime
// Timestamp: Windows FILETIME (100 ns ticks since 1601); Type: Read or Write;
// Offset and Size: bytes. Times are made relative to the first record.
#include <charconv>
#include <string_view>
#include <vector>

#include "ferry/trace.h"
#include "trace/line_reader.h"

namespace ferry {
namespace {

bool ParseU64(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

class MsrReader final : public LineTraceReader {
 public:
  MsrReader(std::unique_ptr<LineSource> src, TraceReadOptions o)
      : LineTraceReader(std::move(src), std::move(o), "MSR") {}

 private:
  Line ParseLine(const std::string& line, IoEvent* e, std::string* why) override {
    if (line.empty()) return Line::kOther;
    *why = Parse(line, e);
    return why->empty() ? Line::kEvent : Line::kMalformed;
  }

  // Fills `e` from one CSV line; returns what is wrong, or "" when the line is good.
  std::string Parse(const std::string& line, IoEvent* e) {
    std::vector<std::string_view> f;
    std::string_view rest(line);
    for (;;) {
      size_t comma = rest.find(',');
      f.push_back(rest.substr(0, comma));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (f.size() != 7) return "expected 7 comma-separated fields, found " + std::to_string(f.size());
    uint64_t ts, disk, offset, size;
    if (!ParseU64(f[0], &ts)) return "bad timestamp '" + std::string(f[0]) + "'";
    if (!ParseU64(f[2], &disk) || disk > UINT32_MAX) return "bad disk number '" + std::string(f[2]) + "'";
    if (f[3] == "Read") e->op = IoOp::kRead;
    else if (f[3] == "Write") e->op = IoOp::kWrite;
    else return "bad type '" + std::string(f[3]) + "' (expected Read or Write)";
    if (!ParseU64(f[4], &offset)) return "bad offset '" + std::string(f[4]) + "'";
    if (!ParseU64(f[5], &size) || size == 0) return "bad size '" + std::string(f[5]) + "'";
    if (offset > UINT64_MAX - size) return "offset + size overflows";
    if (!have_first_) {
      first_ts_ = ts;
      have_first_ = true;
    }
    // Records are in time order in the published traces; a record before the first one
    // is clamped to time 0 rather than wrapping around.
    uint64_t ticks = ts >= first_ts_ ? ts - first_ts_ : 0;
    if (ticks > static_cast<uint64_t>(INT64_MAX / 100)) return "timestamp too far from the first record";
    e->time = std::chrono::nanoseconds(static_cast<int64_t>(ticks) * 100);
    e->offset = offset;
    e->length = size;
    e->device = static_cast<uint32_t>(disk);
    return "";
  }

  bool have_first_ = false;
  uint64_t first_ts_ = 0;
};

}  // namespace

Result<std::unique_ptr<TraceReader>> OpenMsrTrace(const std::string& path, const TraceReadOptions& options) {
  FERRY_ASSIGN_OR_RETURN(auto src, LineSource::Open(path));
  return std::unique_ptr<TraceReader>(new MsrReader(std::move(src), options));
}

}  // namespace ferry
