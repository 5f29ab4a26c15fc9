#include "trace/writer.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>

namespace ferry {
namespace {

// The output stream: OUT, or standard output for "-".
class Output {
 public:
  Status Open(const std::string& path) {
    path_ = path;
    if (path == "-") return OkStatus();
    file_.open(path, std::ios::trunc);
    if (!file_) return InvalidArgument("cannot create " + path + ": " + std::strerror(errno));
    return OkStatus();
  }
  std::ostream& stream() { return path_ == "-" ? std::cout : file_; }
  Status Close() {
    stream().flush();
    if (file_.is_open()) file_.close();
    if (!stream() || (path_ != "-" && file_.fail())) return InvalidArgument("writing " + path_ + " failed");
    return OkStatus();
  }

 private:
  std::string path_;
  std::ofstream file_;
};


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

Result<uint64_t> WriteTraceFile(TraceReader& reader, const TraceWindow& window, TraceFormat format,
                                const std::string& target, const std::string& out_path) {
  if (!TraceFormatWritable(format)) {  // checked before the file is created
    return InvalidArgument(std::string("ferry cannot write ") + TraceFormatName(format) + " traces: use --to fio or --to msr");
  }
  Output out;
  FERRY_RETURN_IF_ERROR(out.Open(out_path));
  FERRY_ASSIGN_OR_RETURN(auto w, MakeTraceWriter(format, out.stream(), target));
  IoEvent e;
  uint64_t n = 0;
  for (;;) {
    FERRY_ASSIGN_OR_RETURN(bool more, reader.Next(&e));
    if (!more) break;
    if (window.dev >= 0 && e.device != static_cast<uint32_t>(window.dev)) continue;
    if (e.time < window.from || e.time >= window.until) continue;
    e.time -= window.from;
    w->Write(e);
    ++n;
  }
  w->Finish();
  FERRY_RETURN_IF_ERROR(out.Close());
  return n;
}


}  // namespace ferry
