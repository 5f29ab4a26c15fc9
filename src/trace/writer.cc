#include "trace/writer.h"

#include <chrono>

namespace ferry {
namespace {

// fio iolog v3 (fio(1), TRACE FILE FORMAT): microsecond timestamps.
class FioIologWriter : public TraceWriter {
 public:
  FioIologWriter(std::ostream& out, std::string target) : out_(out), target_(std::move(target)) {
    out_ << "fio version 3 iolog\n0 " << target_ << " add\n0 " << target_ << " open\n";
  }
  void Write(const IoEvent& e) override {
    last_us_ = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(e.time).count());
    out_ << last_us_ << ' ' << target_ << (e.op == IoOp::kRead ? " read " : " write ") << e.offset << ' '
         << e.length << '\n';
  }
  void Finish() override { out_ << last_us_ << ' ' << target_ << " close\n"; }

 private:
  std::ostream& out_;
  std::string target_;
  uint64_t last_us_ = 0;
};

// MSR-Cambridge CSV: Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime with
// the timestamp in FILETIME ticks (100 ns); response time unknown, written as 0 as in
// the published cuts. Times start at an arbitrary FILETIME epoch (2007-02-22, the
// MSR traces' first day); readers take times relative to the first record.
class MsrCsvWriter : public TraceWriter {
 public:
  MsrCsvWriter(std::ostream& out, std::string host) : out_(out), host_(std::move(host)) {}
  void Write(const IoEvent& e) override {
    constexpr uint64_t kEpochTicks = 128166372000000000ull;
    out_ << kEpochTicks + static_cast<uint64_t>(e.time.count() / 100) << ',' << host_ << ',' << e.device << ','
         << (e.op == IoOp::kRead ? "Read" : "Write") << ',' << e.offset << ',' << e.length << ",0\n";
  }
  void Finish() override {}

 private:
  std::ostream& out_;
  std::string host_;
};

}  // namespace

bool TraceFormatWritable(TraceFormat format) { return format == TraceFormat::kFioIolog || format == TraceFormat::kMsr; }

Result<std::unique_ptr<TraceWriter>> MakeTraceWriter(TraceFormat format, std::ostream& out, const std::string& target) {
  if (!TraceFormatWritable(format)) {
    return InvalidArgument(std::string("ferry cannot write ") + TraceFormatName(format) +
                           " traces: use --to fio or --to msr");
  }
  if (format == TraceFormat::kMsr) return std::unique_ptr<TraceWriter>(new MsrCsvWriter(out, target));
  return std::unique_ptr<TraceWriter>(new FioIologWriter(out, target));
}

}  // namespace ferry
