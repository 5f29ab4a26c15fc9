// SyncPointCounter: counts the sync points (sync_point.h) passed while it lives, and
// waits for a count to be reached. For tests only; one at a time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>

#include "common/sync_point.h"

namespace ferry {

class SyncPointCounter {
 public:
  SyncPointCounter() {
    SetSyncPointWatcher([this](std::string_view point) {
      std::lock_guard<std::mutex> lock(mu_);
      ++counts_[std::string(point)];
      cv_.notify_all();
    });
  }
  ~SyncPointCounter() { SetSyncPointWatcher(nullptr); }
  SyncPointCounter(const SyncPointCounter&) = delete;
  SyncPointCounter& operator=(const SyncPointCounter&) = delete;

  int Count(const std::string& point) {
    std::lock_guard<std::mutex> lock(mu_);
    return counts_[point];
  }
  // Waits until `point` has been passed at least `n` times; false if a minute passes
  // first (a hang, reported by the test rather than by ctest's timeout).
  bool WaitFor(const std::string& point, int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::minutes(1), [&] { return counts_[point] >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int> counts_;
};

}  // namespace ferry
