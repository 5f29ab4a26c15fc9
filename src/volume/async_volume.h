// AsyncVolume: a Volume wrapper for tests whose ReadAsync and WriteAsync answer later,
// from a thread of its own and newest first, as an NBD volume's poller does (out of
// order). So the copier's asynchronous paths run in unit tests on memory and fault
// volumes. It counts the most requests it ever held at once. Everything else goes to
// the base at once.
// Thread-safe; the destructor answers what is still queued.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "ferry/volume.h"

namespace ferry {

class AsyncVolume final : public Volume {
 public:
  // `delay`: how long each answer takes, at least (one answer at a time).
  AsyncVolume(std::unique_ptr<Volume> base, std::chrono::microseconds delay)
      : owned_(std::move(base)), base_(owned_.get()), delay_(delay), answerer_([this] { Answer(); }) {}
  AsyncVolume(Volume* base, std::chrono::microseconds delay)
      : base_(base), delay_(delay), answerer_([this] { Answer(); }) {}
  ~AsyncVolume() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    answerer_.join();
  }

  size_t max_outstanding() const {
    std::lock_guard<std::mutex> lock(mu_);
    return max_outstanding_;
  }

  const std::string& name() const override { return base_->name(); }
  uint64_t size() const override { return base_->size(); }
  VolumeCapabilities capabilities() const override {
    VolumeCapabilities c = base_->capabilities();
    c.async_io = true;
    return c;
  }
  Status Read(uint64_t offset, std::span<std::byte> buf) override { return base_->Read(offset, buf); }
  void ReadAsync(uint64_t offset, std::span<std::byte> buf, IoDone done) override {
    Queue({false, offset, buf, {}, std::move(done)});
  }
  Status Write(uint64_t offset, std::span<const std::byte> buf) override { return base_->Write(offset, buf); }
  void WriteAsync(uint64_t offset, std::span<const std::byte> buf, IoDone done) override {
    Queue({true, offset, {}, buf, std::move(done)});
  }
  Status Flush() override { return base_->Flush(); }
  Status Zero(uint64_t offset, uint64_t length) override { return base_->Zero(offset, length); }
  Status Trim(uint64_t offset, uint64_t length) override { return base_->Trim(offset, length); }
  Status Extents(uint64_t offset, uint64_t length, std::vector<Extent>* out) override {
    return base_->Extents(offset, length, out);
  }

 private:
  struct Queued {
    bool is_write;
    uint64_t offset;
    std::span<std::byte> read;         // a read's buffer
    std::span<const std::byte> write;  // a write's data
    IoDone done;
  };

  void Queue(Queued q) {
    std::lock_guard<std::mutex> lock(mu_);
    queued_.push_back(std::move(q));
    max_outstanding_ = std::max(max_outstanding_, queued_.size());
    cv_.notify_all();
  }

  void Answer() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || !queued_.empty(); });
      if (queued_.empty()) return;  // stopping with nothing left
      if (!stop_) {
        lock.unlock();
        std::this_thread::sleep_for(delay_);  // reads sent meanwhile join the queue
        lock.lock();
      }
      Queued q = std::move(queued_.back());  // newest first: answers come out of order
      queued_.pop_back();
      lock.unlock();
      q.done(!q.is_write ? base_->Read(q.offset, q.read) : base_->Write(q.offset, q.write));
      lock.lock();
    }
  }

  std::unique_ptr<Volume> owned_;
  Volume* const base_;
  const std::chrono::microseconds delay_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Queued> queued_;
  size_t max_outstanding_ = 0;
  bool stop_ = false;
  std::thread answerer_;  // last: starts once the rest is built
};

}  // namespace ferry
