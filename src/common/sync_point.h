// Sync points: named events in the engine's threads that a test can watch, after
// RocksDB's TEST_SYNC_POINT. A test counts or waits for them (the calling thread woke,
// a worker began to wait for the rate) instead of timing what the threads do, so it
// gives the same answer on a loaded machine as on an idle one.
//
// With no watcher set, a point costs one relaxed atomic load. Thread safety: points may
// be passed from any thread; the watcher is called under a lock, one point at a time,
// and must return quickly without passing a point itself.
#pragma once

#include <functional>
#include <string_view>

namespace ferry {

using SyncPointWatcher = std::function<void(std::string_view point)>;

// Sets the watcher (an empty function: none). Returns once no call to the previous
// watcher is under way.
void SetSyncPointWatcher(SyncPointWatcher watcher);

// Tells the watcher, if there is one, that this thread has reached `point`.
void SyncPoint(std::string_view point);

}  // namespace ferry
