// PresentMirror: which granules are present, readable without the engine's lock, so
// that a read of present data (a hit) takes no lock at all (request_path.cc).
//
// The words are copied from the ChunkMap, under the engine's lock, for the granules a
// request found present there (Refresh); a request that takes no lock reads them with
// acquire loads (AllPresent). Sound because a present granule never becomes missing
// again: a bit seen set is still true, and the granule's data reached the destination
// before the map said present, under the lock that the copy into the mirror held
// (invariant 2). A bit not yet mirrored only sends a read the locked way. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "plan/chunk_map.h"

namespace ferry {

class PresentMirror {
 public:
  explicit PresentMirror(uint64_t granule_count) : words_((granule_count + 63) / 64) {}

  // True when every granule of `run` is mirrored present.
  bool AllPresent(GranuleRun run) const {
    for (uint64_t g = run.first.value; g < run.first.value + run.count; ++g) {
      if (!((words_[g >> 6].load(std::memory_order_acquire) >> (g & 63)) & 1)) return false;
    }
    return true;
  }
  // Copies the map's present words that `run` touches; the caller holds the map's lock.
  void Refresh(const ChunkMap& map, GranuleRun run) {
    const std::vector<uint64_t>& present = map.present_words();
    const uint64_t last = run.first.value + run.count - 1;
    for (uint64_t w = run.first.value >> 6; w <= last >> 6 && w < words_.size(); ++w) {
      words_[w].store(present[w], std::memory_order_release);
    }
  }

 private:
  std::vector<std::atomic<uint64_t>> words_;
};

}  // namespace ferry
