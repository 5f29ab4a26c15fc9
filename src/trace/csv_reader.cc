// CSV trace readers, one table-driven reader for every comma-separated format: a layout
// says which column holds what, in which unit. Times are made relative to the first
// record. Formats (../shared/traces/README.md and the formats' published descriptions):
//   MSR-Cambridge  Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime
//                  FILETIME ticks of 100 ns; Read/Write; bytes
//   SPC / UMass    ASU,LBA,Size,Opcode,Timestamp
//                  LBA in 512-byte sectors; Size bytes; r/w; seconds (fractional)
//   Alibaba        device_id,opcode,offset,length,timestamp
//                  R/W; bytes; microseconds
//   Tencent CBS    Timestamp,Offset,Size,IOType,VolumeID
//                  seconds; offset and size in 512-byte sectors; 0 read, 1 write
#include <cmath>
#include <optional>
#include <string_view>
#include <vector>

#include "trace/line_reader.h"
#include "trace/parse_number.h"

namespace ferry {
namespace {

enum class TimeUnit { kTicks100ns, kMicroseconds, kSeconds, kFractionalSeconds };

struct CsvLayout {
  const char* format;
  size_t fields;
  int time, device, op, offset, length;  // column indexes; device -1: none
  TimeUnit time_unit;
  uint64_t offset_unit, length_unit;     // bytes per unit
  std::optional<IoOp> (*parse_op)(std::string_view);
  const char* op_expected;               // for messages
};

std::optional<IoOp> MsrOp(std::string_view s) {
  if (s == "Read") return IoOp::kRead;
  if (s == "Write") return IoOp::kWrite;
  return std::nullopt;
}
std::optional<IoOp> LetterOp(std::string_view s) {
  if (s == "r" || s == "R") return IoOp::kRead;
  if (s == "w" || s == "W") return IoOp::kWrite;
  return std::nullopt;
}
std::optional<IoOp> DigitOp(std::string_view s) {
  if (s == "0") return IoOp::kRead;
  if (s == "1") return IoOp::kWrite;
  return std::nullopt;
}

constexpr CsvLayout kMsr{"MSR", 7, 0, 2, 3, 4, 5, TimeUnit::kTicks100ns, 1, 1, MsrOp, "Read or Write"};
constexpr CsvLayout kSpc{"SPC", 5, 4, 0, 3, 1, 2, TimeUnit::kFractionalSeconds, 512, 1, LetterOp, "r or w"};
constexpr CsvLayout kAlibaba{"Alibaba", 5, 4, 0, 1, 2, 3, TimeUnit::kMicroseconds, 1, 1, LetterOp, "R or W"};
constexpr CsvLayout kTencent{"Tencent", 5, 0, 4, 3, 1, 2, TimeUnit::kSeconds, 512, 512, DigitOp, "0 or 1"};

class CsvReader final : public LineTraceReader {
 public:
  CsvReader(std::unique_ptr<LineSource> src, TraceReadOptions o, const CsvLayout& layout)
      : LineTraceReader(std::move(src), std::move(o), layout.format), l_(layout) {}

 private:
  Line ParseLine(const std::string& line, IoEvent* e, std::string* why) override {
    if (line.empty()) return Line::kOther;
    std::vector<std::string_view> f;
    std::string_view rest(line);
    for (;;) {
      size_t comma = rest.find(',');
      f.push_back(rest.substr(0, comma));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    auto bad = [&](const char* what, std::string_view v) {
      *why = std::string("bad ") + what + " '" + std::string(v) + "'";
      return Line::kMalformed;
    };
    if (f.size() != l_.fields) {
      *why = "expected " + std::to_string(l_.fields) + " comma-separated fields, found " + std::to_string(f.size());
      return Line::kMalformed;
    }
    int64_t ns;
    if (!TimeNs(f[l_.time], &ns)) return bad("timestamp", f[l_.time]);
    uint64_t device = 0, offset, length;
    if (l_.device >= 0 && (!ParseNumber(f[l_.device], &device) || device > UINT32_MAX)) {
      return bad("device", f[l_.device]);
    }
    auto op = l_.parse_op(f[l_.op]);
    if (!op) {
      *why = "bad type '" + std::string(f[l_.op]) + "' (expected " + l_.op_expected + ")";
      return Line::kMalformed;
    }
    if (!ParseNumber(f[l_.offset], &offset) || offset > UINT64_MAX / l_.offset_unit) {
      return bad("offset", f[l_.offset]);
    }
    if (!ParseNumber(f[l_.length], &length) || length == 0 || length > UINT32_MAX) {
      return bad("size", f[l_.length]);
    }
    offset *= l_.offset_unit;
    length *= l_.length_unit;
    if (offset > UINT64_MAX - length) {
      *why = "offset + size overflows";
      return Line::kMalformed;
    }
    e->time = std::chrono::nanoseconds(ns);
    e->offset = offset;
    e->length = length;
    e->op = *op;
    e->device = static_cast<uint32_t>(device);
    return Line::kEvent;
  }

  // The record's time in ns since the first record (earlier records clamp to 0).
  bool TimeNs(std::string_view s, int64_t* ns) {
    long double t;  // in the format's unit
    if (l_.time_unit == TimeUnit::kFractionalSeconds) {
      double d;
      if (!ParseNumber(s, &d) || !std::isfinite(d) || d < 0) return false;
      t = d;
    } else {
      uint64_t v;
      if (!ParseNumber(s, &v)) return false;
      t = static_cast<long double>(v);
    }
    if (!have_first_) {
      first_ = t;
      have_first_ = true;
    }
    long double scale = l_.time_unit == TimeUnit::kTicks100ns     ? 100.0L
                        : l_.time_unit == TimeUnit::kMicroseconds ? 1e3L
                                                                  : 1e9L;
    long double rel = t >= first_ ? (t - first_) * scale : 0;
    if (rel > 9.2e18L) return false;
    *ns = static_cast<int64_t>(rel + 0.5L);
    return true;
  }

  const CsvLayout& l_;
  bool have_first_ = false;
  long double first_ = 0;
};

Result<std::unique_ptr<TraceReader>> OpenCsv(const std::string& path, const TraceReadOptions& o,
                                             const CsvLayout& layout) {
  FERRY_ASSIGN_OR_RETURN(auto src, LineSource::Open(path));
  return std::unique_ptr<TraceReader>(new CsvReader(std::move(src), o, layout));
}

}  // namespace

Result<std::unique_ptr<TraceReader>> OpenMsrTrace(const std::string& path, const TraceReadOptions& o) {
  return OpenCsv(path, o, kMsr);
}
Result<std::unique_ptr<TraceReader>> OpenSpcTrace(const std::string& path, const TraceReadOptions& o) {
  return OpenCsv(path, o, kSpc);
}
Result<std::unique_ptr<TraceReader>> OpenAlibabaTrace(const std::string& path, const TraceReadOptions& o) {
  return OpenCsv(path, o, kAlibaba);
}
Result<std::unique_ptr<TraceReader>> OpenTencentTrace(const std::string& path, const TraceReadOptions& o) {
  return OpenCsv(path, o, kTencent);
}

}  // namespace ferry
