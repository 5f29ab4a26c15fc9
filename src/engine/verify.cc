// Verify: parallel per-chunk comparison of two volumes, byte for byte (both chunks are
// in memory: comparing them is exact and cheaper than hashing each). Ranges both
// volumes report as zero are not read; a range one side reports as zero is read only
// on the other side and checked for zeroes. Differing chunks are narrowed to 4 KiB
// blocks for the report.
#include <algorithm>
#include <cstring>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/byte_buffer.h"
#include "common/interval_set.h"
#include "common/zero.h"
#include "engine/progress_meter.h"
#include "ferry/engine.h"
#include "ferry/units.h"
#include "volume/zero_map.h"

namespace ferry {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kDiffBlock = 4096;

class Verification {
 public:
  Verification(Volume& a, Volume& b, const VerifyOptions& o)
      : a_(a), b_(b), o_(o), end_(std::min(a.size(), b.size())) {}
  Result<VerifyResult> Run();

 private:
  bool NextRange(Range* r, bool* a_zero, bool* b_zero);
  void Worker();
  Status Compare(Range r, bool a_zero, bool b_zero, ByteBuffer& ba, ByteBuffer& bb);
  void AddDiff(uint64_t offset, uint64_t length);

  Volume& a_;
  Volume& b_;
  const VerifyOptions& o_;
  const uint64_t end_;
  IntervalSet a_zero_, b_zero_;  // read-only once workers start

  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t cursor_ = 0;     // guarded by mu_
  uint64_t done_ = 0;       // guarded by mu_
  int running_ = 0;         // guarded by mu_
  bool stop_ = false;       // guarded by mu_
  Status error_;            // guarded by mu_
  IntervalSet diffs_;       // guarded by mu_
  uint64_t compared_ = 0, skipped_ = 0, written_ = 0;  // guarded by mu_
};

bool Verification::NextRange(Range* r, bool* a_zero, bool* b_zero) {
  if (stop_ || cursor_ >= end_) return false;
  uint64_t off = cursor_, rest = end_ - off;
  *a_zero = a_zero_.Covers(off, 1);
  *b_zero = b_zero_.Covers(off, 1);
  uint64_t len = std::min(a_zero_.UniformPrefix(off, rest), b_zero_.UniformPrefix(off, rest));
  if (!(*a_zero && *b_zero)) len = std::min(len, o_.chunk_size);  // both zero: skip it all at once
  *r = {off, len};
  cursor_ = off + len;
  return true;
}

void Verification::AddDiff(uint64_t offset, uint64_t length) {
  std::lock_guard<std::mutex> lock(mu_);
  diffs_.Add(offset, length);
}

Status Verification::Compare(Range r, bool a_zero, bool b_zero, ByteBuffer& ba, ByteBuffer& bb) {
  if (a_zero && b_zero) return OkStatus();
  ba.Resize(r.length);
  bb.Resize(r.length);
  if (!a_zero) FERRY_RETURN_IF_ERROR(a_.Read(r.offset, ba));
  if (!b_zero) FERRY_RETURN_IF_ERROR(b_.Read(r.offset, bb));
  if (a_zero || b_zero) {
    ByteBuffer& data = a_zero ? bb : ba;
    if (IsAllZero(data.data(), data.size())) return OkStatus();
    ByteBuffer& zeroes = a_zero ? ba : bb;  // the side that reads as zero, for the narrowing
    std::memset(zeroes.data(), 0, zeroes.size());
  } else if (std::memcmp(ba.data(), bb.data(), r.length) == 0) {
    return OkStatus();
  }
  for (uint64_t i = 0; i < r.length; i += kDiffBlock) {
    uint64_t n = std::min(kDiffBlock, r.length - i);
    if (std::memcmp(ba.data() + i, bb.data() + i, n) == 0) continue;
    if (o_.written && o_.written(r.offset + i, n)) {
      std::lock_guard<std::mutex> lock(mu_);
      written_ += n;
    } else {
      AddDiff(r.offset + i, n);
    }
  }
  return OkStatus();
}

void Verification::Worker() {
  ByteBuffer ba, bb;
  std::unique_lock<std::mutex> lock(mu_);
  Range r;
  bool az, bz;
  while (NextRange(&r, &az, &bz)) {
    lock.unlock();
    Status s = Compare(r, az, bz, ba, bb);
    lock.lock();
    if (!s.ok()) {
      if (error_.ok()) error_ = s;
      stop_ = true;
    }
    done_ += r.length;
    (az && bz ? skipped_ : compared_) += r.length;
  }
  --running_;
  cv_.notify_all();
}

Result<VerifyResult> Verification::Run() {
  auto start = Clock::now();
  FERRY_RETURN_IF_ERROR(ReadZeroMap(a_, &a_zero_).WithContext(a_.name()));
  FERRY_RETURN_IF_ERROR(ReadZeroMap(b_, &b_zero_).WithContext(b_.name()));
  ProgressMeter meter(o_.on_progress, o_.progress_interval, end_, 0);
  std::vector<std::thread> threads;
  const int workers = std::max(1, o_.threads);
  running_ = workers;  // before any worker starts and counts itself out
  for (int i = 0; i < workers; ++i) threads.emplace_back([this] { Worker(); });
  {
    std::unique_lock<std::mutex> lock(mu_);
    while (running_ > 0) {
      cv_.wait_for(lock, o_.progress_interval);
      if (o_.cancel && o_.cancel->load() && !stop_) {
        stop_ = true;
        if (error_.ok()) error_ = Cancelled("interrupted");
      }
      uint64_t done = done_;
      lock.unlock();
      meter.Update(done, o_.chunk_size);
      lock.lock();
    }
  }
  for (auto& t : threads) t.join();
  meter.Update(done_, o_.chunk_size, /*force=*/true);
  if (!error_.ok()) return error_;

  VerifyResult result;
  if (b_.size() < a_.size()) diffs_.Add(b_.size(), a_.size() - b_.size());  // destination too short
  result.equal = diffs_.empty();
  for (const Range& d : diffs_.Ranges()) {
    if (result.differing.size() >= o_.max_ranges) break;
    result.differing.push_back(d);
  }
  result.bytes_compared = compared_;
  result.bytes_skipped = skipped_;
  result.bytes_written = written_;
  result.seconds = ToSeconds(Clock::now() - start);
  return result;
}

}  // namespace

Result<VerifyResult> Verify(Volume& source, Volume& destination, const VerifyOptions& options) {
  if (options.chunk_size == 0) return InvalidArgument("verify chunk size must be positive");
  Verification v(source, destination, options);
  return v.Run();
}

}  // namespace ferry
