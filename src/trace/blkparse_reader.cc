// blkparse default text output reader:
//   maj,min cpu seq time_s pid action rwbs sector + nsectors [process]
// interleaved with other lines (summaries, CPU headers, m/N messages). A request is its
// Q (queued) event; other actions and lines that are not events are passed over. Among
// Q events, discards (D in rwbs) and flushes without data (no "+ n", or n = 0) are
// passed over too: ferry's events are reads and writes. Sector = 512 bytes. The device
// number is (major << 20) | minor, as the kernel encodes dev_t internally.
#include <cctype>
#include <string_view>
#include <vector>

#include "ferry/trace.h"
#include "trace/line_reader.h"
#include "trace/parse_number.h"

namespace ferry {
namespace {

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> f;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    size_t j = i;
    while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
    if (j > i) f.push_back(line.substr(i, j - i));
    i = j;
  }
  return f;
}

class BlkparseReader final : public LineTraceReader {
 public:
  BlkparseReader(std::unique_ptr<LineSource> src, TraceReadOptions o)
      : LineTraceReader(std::move(src), std::move(o), "blkparse") {}

 private:
  Line ParseLine(const std::string& line, IoEvent* e, std::string* why) override {
    auto f = Fields(line);
    if (f.size() < 6) return Line::kOther;
    size_t comma = f[0].find(',');
    uint32_t major, minor;
    // Only lines that start with "maj,min" are events; the rest is blkparse's commentary.
    if (comma == std::string_view::npos || !ParseNumber(f[0].substr(0, comma), &major) ||
        !ParseNumber(f[0].substr(comma + 1), &minor)) {
      return Line::kOther;
    }
    if (f[5] != "Q") return Line::kOther;
    if (f.size() < 7) return *why = "Q event without rwbs", Line::kMalformed;
    std::string_view rwbs = f[6];
    if (rwbs.find('D') != std::string_view::npos) return Line::kOther;  // discard
    bool read = rwbs.find('R') != std::string_view::npos, write = rwbs.find('W') != std::string_view::npos;
    if (f.size() < 10 || f[8] != "+") {
      if (rwbs.find('F') != std::string_view::npos || (!read && !write)) return Line::kOther;  // flush only
      return *why = "Q event without 'sector + count'", Line::kMalformed;
    }
    if (!read && !write) return Line::kOther;
    uint64_t sector, count;
    double seconds;
    if (!ParseNumber(f[3], &seconds) || !(seconds >= 0)) return *why = "bad time '" + std::string(f[3]) + "'", Line::kMalformed;
    if (!ParseNumber(f[7], &sector)) return *why = "bad sector '" + std::string(f[7]) + "'", Line::kMalformed;
    if (!ParseNumber(f[9], &count)) return *why = "bad sector count '" + std::string(f[9]) + "'", Line::kMalformed;
    if (count == 0) return Line::kOther;  // an empty (flush) request
    if (sector > UINT64_MAX / 512 - count) return *why = "sector beyond any volume", Line::kMalformed;
    if (major >= (1u << 12) || minor >= (1u << 20)) return *why = "bad device number", Line::kMalformed;
    if (!have_first_) {
      first_s_ = seconds;
      have_first_ = true;
    }
    double rel = seconds >= first_s_ ? seconds - first_s_ : 0;
    if (rel > 9e9) return *why = "time too far from the first record", Line::kMalformed;
    e->time = std::chrono::nanoseconds(static_cast<int64_t>(rel * 1e9 + 0.5));
    e->offset = sector * 512;
    e->length = count * 512;
    e->op = read ? IoOp::kRead : IoOp::kWrite;
    e->device = (major << 20) | minor;
    return Line::kEvent;
  }

  bool have_first_ = false;
  double first_s_ = 0;
};

}  // namespace

Result<std::unique_ptr<TraceReader>> OpenBlkparseTrace(const std::string& path, const TraceReadOptions& options) {
  FERRY_ASSIGN_OR_RETURN(auto src, LineSource::Open(path));
  return std::unique_ptr<TraceReader>(new BlkparseReader(std::move(src), options));
}

}  // namespace ferry
