// Sync points (sync_point.h): one watcher behind a lock, skipped by an atomic flag.
#include "common/sync_point.h"

#include <atomic>
#include <mutex>

namespace ferry {
namespace {

std::atomic<bool> watched{false};
std::mutex& WatcherLock() {
  static std::mutex mu;
  return mu;
}
SyncPointWatcher& Watcher() {
  static SyncPointWatcher w;
  return w;
}

}  // namespace

void SetSyncPointWatcher(SyncPointWatcher watcher) {
  std::lock_guard<std::mutex> lock(WatcherLock());
  watched.store(static_cast<bool>(watcher), std::memory_order_relaxed);
  Watcher() = std::move(watcher);
}

void SyncPoint(std::string_view point) {
  if (!watched.load(std::memory_order_relaxed)) return;
  std::lock_guard<std::mutex> lock(WatcherLock());
  if (Watcher()) Watcher()(point);
}

}  // namespace ferry
