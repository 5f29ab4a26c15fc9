// TraceRecorder (see recorder.h).
#include "trace/recorder.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace ferry {

Status TraceRecorder::CheckCreatable(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    return FailedPrecondition("--record " + path +
                              ": the file exists; give a new path (a recording is never overwritten: pass the old "
                              "one to --history)");
  }
  const std::filesystem::path parent = std::filesystem::absolute(path).parent_path();
  if (::access(parent.c_str(), W_OK) != 0) {
    return InvalidArgument("--record " + path + ": cannot write in " + parent.string() + " (" + std::strerror(errno) +
                           "): give a path in a writable directory");
  }
  return OkStatus();
}

Result<std::unique_ptr<TraceRecorder>> TraceRecorder::Create(const std::string& path, const std::string& target) {
  FERRY_RETURN_IF_ERROR(CheckCreatable(path));
  auto out = std::make_unique<std::ofstream>(path, std::ios::out | std::ios::trunc);
  if (!*out) return IoError("--record " + path + ": cannot create it: " + std::strerror(errno));
  return std::unique_ptr<TraceRecorder>(new TraceRecorder(path, std::move(out), target));
}

TraceRecorder::TraceRecorder(std::string path, std::unique_ptr<std::ofstream> out, const std::string& target)
    : path_(std::move(path)), start_(Clock::now()), out_(std::move(out)), last_flush_(start_) {
  writer_ = std::move(MakeTraceWriter(TraceFormat::kFioIolog, *out_, target)).value();
  out_->flush();  // the header is there at once, whatever happens next
}

TraceRecorder::~TraceRecorder() { (void)Close(); }

void TraceRecorder::Record(IoOp op, uint64_t offset, uint64_t length) {
  const auto now = Clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return;
  IoEvent e;
  e.time = std::chrono::duration_cast<std::chrono::nanoseconds>(now - start_);
  e.op = op;
  e.offset = offset;
  e.length = length;
  writer_->Write(e);
  ++records_;
  if (now - last_flush_ >= std::chrono::seconds(1)) {
    out_->flush();
    last_flush_ = now;
  }
}

Status TraceRecorder::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return OkStatus();
  closed_ = true;
  writer_->Finish();
  out_->flush();
  const bool ok = out_->good();
  out_->close();
  if (!ok) return IoError("--record " + path_ + ": writing failed (is the disk full?)");
  return OkStatus();
}

uint64_t TraceRecorder::records() const {
  std::lock_guard<std::mutex> lock(mu_);
  return records_;
}

}  // namespace ferry
