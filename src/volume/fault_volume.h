// FaultVolume: a Volume wrapper that injects faults, for tests (leveldb's
// FaultInjectionTestEnv is the model).
//
// - Errors: reads or writes touching a byte range fail with a given Status, a number of
//   times or forever.
// - Delays: every read sleeps for a while first (a slow source).
// - Crashes: Crash() loses every write since the last successful Flush(), restoring the
//   bytes they overwrote, as a power cut would; CrashAfterWrites(n) makes every call
//   after the n-th write fail, as if the machine had stopped there.
// - Accounting: counts of reads, writes, flushes, zeroes, trims (for "never written").
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "ferry/volume.h"

namespace ferry {

class FaultVolume final : public Volume {
 public:
  explicit FaultVolume(Volume* base) : base_(base) {}

  // Reads (is_write=false) or writes/zeroes/trims (true) that touch
  // [offset, offset+length) fail with `status`, `times` times (-1: always).
  void FailRange(bool is_write, uint64_t offset, uint64_t length, Status status, int times = -1);
  void ClearFaults();
  void SetReadDelay(std::chrono::microseconds delay) { read_delay_us_ = delay.count(); }
  // Every Write sleeps for a while first (a slow destination).
  void SetWriteDelay(std::chrono::microseconds delay) { write_delay_us_ = delay.count(); }
  // After `n` more writes, every call fails with kIoError ("crashed").
  void CrashAfterWrites(int64_t n) { writes_until_crash_ = n; }
  // Loses the writes since the last flush (restores what they overwrote) and clears the
  // crashed state.
  Status Crash();

  uint64_t reads() const { return reads_; }
  uint64_t writes() const { return writes_; }    // Write() calls
  uint64_t mutations() const { return writes_ + zeroes_ + trims_; }  // anything that changes data
  uint64_t flushes() const { return flushes_; }

  const std::string& name() const override { return base_->name(); }
  uint64_t size() const override { return base_->size(); }
  VolumeCapabilities capabilities() const override {
    VolumeCapabilities c = base_->capabilities();
    c.async_io = false;  // its ReadAsync and WriteAsync are the synchronous defaults
    return c;
  }
  Status Read(uint64_t offset, std::span<std::byte> buf) override;
  Status Write(uint64_t offset, std::span<const std::byte> buf) override;
  Status Flush() override;
  Status Zero(uint64_t offset, uint64_t length) override;
  Status Trim(uint64_t offset, uint64_t length) override;
  Status Extents(uint64_t offset, uint64_t length, std::vector<Extent>* out) override;

 private:
  struct Fault {
    bool is_write;
    uint64_t offset, length;
    Status status;
    int remaining;
  };
  struct Undo {
    uint64_t offset;
    std::vector<std::byte> old_data;
  };
  Status Check(bool is_write, uint64_t offset, uint64_t length);
  Status SaveUndo(uint64_t offset, uint64_t length);

  Volume* const base_;
  std::mutex mu_;
  std::vector<Fault> faults_;
  std::vector<Undo> undo_;  // writes since the last flush, oldest first
  std::atomic<int64_t> read_delay_us_{0};
  std::atomic<int64_t> write_delay_us_{0};
  std::atomic<int64_t> writes_until_crash_{-1};
  std::atomic<bool> crashed_{false};
  std::atomic<uint64_t> reads_{0}, writes_{0}, zeroes_{0}, trims_{0}, flushes_{0};
};

}  // namespace ferry
