#include "volume/fault_volume.h"

#include <thread>

namespace ferry {

void FaultVolume::FailRange(bool is_write, uint64_t offset, uint64_t length, Status status, int times) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.push_back({is_write, offset, length, std::move(status), times});
}

void FaultVolume::ClearFaults() {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.clear();
}

Status FaultVolume::Check(bool is_write, uint64_t offset, uint64_t length) {
  if (crashed_) return IoError(name() + ": crashed (injected)");
  if (is_write && writes_until_crash_ >= 0) {
    if (writes_until_crash_.fetch_sub(1) <= 0) {
      crashed_ = true;
      return IoError(name() + ": crashed (injected)");
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& f : faults_) {
    if (f.is_write != is_write || f.remaining == 0) continue;
    if (offset < f.offset + f.length && f.offset < offset + length) {
      if (f.remaining > 0) --f.remaining;
      return f.status.WithContext(std::string(is_write ? "write: " : "read: ") + name() +
                                  " offset=" + std::to_string(offset) + " length=" + std::to_string(length));
    }
  }
  return OkStatus();
}

Status FaultVolume::SaveUndo(uint64_t offset, uint64_t length) {
  Undo u{offset, std::vector<std::byte>(length)};
  FERRY_RETURN_IF_ERROR(base_->Read(offset, u.old_data));
  std::lock_guard<std::mutex> lock(mu_);
  undo_.push_back(std::move(u));
  return OkStatus();
}

Status FaultVolume::Read(uint64_t offset, std::span<std::byte> buf) {
  ++reads_;
  if (int64_t d = read_delay_us_; d > 0) std::this_thread::sleep_for(std::chrono::microseconds(d));
  FERRY_RETURN_IF_ERROR(Check(false, offset, buf.size()));
  return base_->Read(offset, buf);
}

Status FaultVolume::Write(uint64_t offset, std::span<const std::byte> buf) {
  ++writes_;
  if (int64_t d = write_delay_us_; d > 0) std::this_thread::sleep_for(std::chrono::microseconds(d));
  FERRY_RETURN_IF_ERROR(Check(true, offset, buf.size()));
  FERRY_RETURN_IF_ERROR(SaveUndo(offset, buf.size()));
  return base_->Write(offset, buf);
}

Status FaultVolume::Zero(uint64_t offset, uint64_t length) {
  ++zeroes_;
  FERRY_RETURN_IF_ERROR(Check(true, offset, length));
  FERRY_RETURN_IF_ERROR(SaveUndo(offset, length));
  return base_->Zero(offset, length);
}

Status FaultVolume::Trim(uint64_t offset, uint64_t length) {
  ++trims_;
  FERRY_RETURN_IF_ERROR(Check(true, offset, length));
  FERRY_RETURN_IF_ERROR(SaveUndo(offset, length));
  return base_->Trim(offset, length);
}

Status FaultVolume::Flush() {
  ++flushes_;
  if (crashed_) return IoError(name() + ": crashed (injected)");
  FERRY_RETURN_IF_ERROR(base_->Flush());
  std::lock_guard<std::mutex> lock(mu_);
  undo_.clear();
  return OkStatus();
}

Status FaultVolume::Extents(uint64_t offset, uint64_t length, std::vector<Extent>* out) {
  return base_->Extents(offset, length, out);
}

Status FaultVolume::Crash() {
  std::vector<Undo> undo;
  {
    std::lock_guard<std::mutex> lock(mu_);
    undo.swap(undo_);
  }
  for (auto it = undo.rbegin(); it != undo.rend(); ++it) {
    FERRY_RETURN_IF_ERROR(base_->Write(it->offset, it->old_data));
  }
  crashed_ = false;
  writes_until_crash_ = -1;
  return OkStatus();
}

}  // namespace ferry
