// fio iolog reader, versions 2 and 3 (fio(1), "TRACE FILE FORMAT"):
//   fio version 2 iolog                  fio version 3 iolog
//   FILE ACTION [OFFSET LENGTH]          TIMESTAMP FILE ACTION [OFFSET LENGTH]
// Offsets and lengths in bytes. v3 timestamps are microseconds since the start of the
// run (what fio 3.33 writes: records of a 20 IOPS job are 50,000 apart). v2 has no
// timestamps; its `wait` actions (microseconds since the previous wait) give the time.
// read and write become events; add/open/close/sync/datasync/trim are passed over.
// The device number is the index of the file in order of first appearance.
#include <map>
#include <sstream>
#include <string_view>
#include <vector>

#include "trace/line_reader.h"
#include "trace/parse_number.h"

namespace ferry {
namespace {

class FioIologReader final : public LineTraceReader {
 public:
  FioIologReader(std::unique_ptr<LineSource> src, TraceReadOptions o)
      : LineTraceReader(std::move(src), std::move(o), "fio iolog") {}

 private:
  Line ParseLine(const std::string& line, IoEvent* e, std::string* why) override {
    if (version_ == 0) {
      if (line.rfind("fio version 2 iolog", 0) == 0) version_ = 2;
      else if (line.rfind("fio version 3 iolog", 0) == 0) version_ = 3;
      else {
        *why = "not a fio iolog (the first line must be \"fio version 2 iolog\" or \"fio version 3 iolog\")";
        return Line::kFatal;
      }
      return Line::kOther;
    }
    std::istringstream in(line);
    std::vector<std::string> f;
    for (std::string w; in >> w;) f.push_back(w);
    if (f.empty()) return Line::kOther;
    size_t base = version_ == 3 ? 1 : 0;
    uint64_t time_us = 0;
    if (version_ == 3 && !ParseNumber(f[0], &time_us)) {
      *why = "bad timestamp '" + f[0] + "'";
      return Line::kMalformed;
    }
    if (f.size() != base + 2 && f.size() != base + 4) {
      *why = "expected " + std::string(version_ == 3 ? "TIMESTAMP " : "") + "FILE ACTION [OFFSET LENGTH]";
      return Line::kMalformed;
    }
    const std::string& file = f[base];
    const std::string& action = f[base + 1];
    auto [it, added] = devices_.emplace(file, static_cast<uint32_t>(devices_.size()));
    if (f.size() == base + 2) {
      if (action == "add" || action == "open" || action == "close" || action == "sync" || action == "datasync") {
        return Line::kOther;
      }
      *why = "bad file action '" + action + "'";
      return Line::kMalformed;
    }
    uint64_t offset, length;
    if (!ParseNumber(f[base + 2], &offset)) return *why = "bad offset '" + f[base + 2] + "'", Line::kMalformed;
    if (!ParseNumber(f[base + 3], &length)) return *why = "bad length '" + f[base + 3] + "'", Line::kMalformed;
    if (action == "wait" && version_ == 2) {
      v2_clock_us_ += offset;
      return Line::kOther;
    }
    if (action == "trim" || action == "sync" || action == "datasync") return Line::kOther;
    if (action != "read" && action != "write") {
      *why = "bad action '" + action + "'";
      return Line::kMalformed;
    }
    if (length == 0 || offset > UINT64_MAX - length) return *why = "bad length '" + f[base + 3] + "'", Line::kMalformed;
    uint64_t us = version_ == 3 ? time_us : v2_clock_us_;
    if (us > static_cast<uint64_t>(INT64_MAX / 1000)) return *why = "timestamp too large", Line::kMalformed;
    e->time = std::chrono::microseconds(static_cast<int64_t>(us));
    e->offset = offset;
    e->length = length;
    e->op = action == "read" ? IoOp::kRead : IoOp::kWrite;
    e->device = it->second;
    return Line::kEvent;
  }

  int version_ = 0;
  uint64_t v2_clock_us_ = 0;
  std::map<std::string, uint32_t> devices_;
};

}  // namespace

Result<std::unique_ptr<TraceReader>> OpenFioIologTrace(const std::string& path, const TraceReadOptions& options) {
  FERRY_ASSIGN_OR_RETURN(auto src, LineSource::Open(path));
  return std::unique_ptr<TraceReader>(new FioIologReader(std::move(src), options));
}

}  // namespace ferry
