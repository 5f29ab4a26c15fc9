// LineTraceReader: what every text trace format shares: read a line, parse it, and
// either return the event, pass the line over (not a record), or report it as malformed
// with file and line (an error in strict mode, else a warning and a skip).
#pragma once

#include <memory>
#include <string>

#include "ferry/trace.h"
#include "trace/line_source.h"

namespace ferry {

class LineTraceReader : public TraceReader {
 public:
  LineTraceReader(std::unique_ptr<LineSource> src, TraceReadOptions o, std::string format)
      : src_(std::move(src)), o_(std::move(o)), format_(std::move(format)) {}

  Result<bool> Next(IoEvent* e) final {
    std::string line, why;
    for (;;) {
      FERRY_ASSIGN_OR_RETURN(bool more, src_->Next(&line));
      if (!more) return false;
      why.clear();
      Line kind = ParseLine(line, e, &why);
      if (kind == Line::kEvent) return true;
      if (kind == Line::kOther) continue;
      std::string msg = src_->path() + ":" + std::to_string(src_->line_number()) + ": " + why;
      if (kind == Line::kFatal) return InvalidArgument(msg);
      if (o_.strict) return InvalidArgument("malformed " + format_ + " record: " + msg);
      ++skipped_;
      if (o_.on_warning) o_.on_warning(msg);
    }
  }
  uint64_t skipped() const final { return skipped_; }

 protected:
  enum class Line { kEvent, kOther, kMalformed, kFatal };
  // Fills `e` from `line` (kEvent), passes it over (kOther), or says in `why` what is
  // wrong with it: kMalformed for a bad record, kFatal when the file cannot be read as
  // this format at all (a wrong header).
  virtual Line ParseLine(const std::string& line, IoEvent* e, std::string* why) = 0;

 private:
  std::unique_ptr<LineSource> src_;
  TraceReadOptions o_;
  std::string format_;
  uint64_t skipped_ = 0;
};

}  // namespace ferry
