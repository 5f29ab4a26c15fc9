// ChunkMap: the per-granule state of a migration (missing, in flight, present), the
// ground truth that chunks are cut from (DESIGN.md "Chunks").
//
// The volume is tracked at a fixed granule (a power of two, 4 KiB or more); the last
// granule may be shorter when the volume size is not a multiple. Two bits per granule
// (a 16 TiB volume at 64 KiB granules takes 64 MiB). Not thread-safe: the engine guards
// it with its own mutex.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/interval_set.h"

namespace ferry {

// The index of a granule: its own type so it cannot be mixed up with a byte offset.
struct GranuleIndex {
  uint64_t value = 0;
  constexpr GranuleIndex() = default;
  constexpr explicit GranuleIndex(uint64_t v) : value(v) {}
  auto operator<=>(const GranuleIndex&) const = default;
};

enum class GranuleState : uint8_t { kMissing, kInFlight, kPresent };

// A run of consecutive granules.
struct GranuleRun {
  GranuleIndex first;
  uint64_t count = 0;
};

class ChunkMap {
 public:
  // `granule_size` must be a power of two >= 4096 (asserted; callers validate input).
  ChunkMap(uint64_t volume_size, uint64_t granule_size);

  uint64_t volume_size() const { return volume_size_; }
  uint64_t granule_size() const { return granule_size_; }
  uint64_t granule_count() const { return granule_count_; }

  // The bytes a granule or a run covers (the last granule may be short).
  Range Bytes(GranuleRun run) const;
  // The granules [offset, offset + length) covers whole (count 0: none); the volume's
  // short last granule is whole when the range reaches the volume's end.
  GranuleRun WholeGranules(uint64_t offset, uint64_t length) const;

  GranuleState state(GranuleIndex g) const;
  void Set(GranuleRun run, GranuleState state);

  // The first run of missing granules at or after `from` and before `end`, at most
  // `max_count` long. Marks nothing. Scans a word (64 granules) at a time.
  std::optional<GranuleRun> NextMissing(GranuleIndex from, uint64_t max_count, uint64_t end = UINT64_MAX) const;

  uint64_t present_count() const { return present_count_; }
  uint64_t in_flight_count() const { return in_flight_count_; }
  // Bytes of present granules.
  uint64_t present_bytes() const;
  bool complete() const { return present_count_ == granule_count_; }

  // The present bitmap: bit i of word i/64 is granule i. Words past the end are zero.
  const std::vector<uint64_t>& present_words() const { return present_; }
  // Replaces the present set with `words` (from a journal); in-flight granules are
  // cleared. Bits beyond granule_count() are ignored.
  void LoadPresent(const std::vector<uint64_t>& words);

 private:
  bool Bit(const std::vector<uint64_t>& v, uint64_t i) const { return (v[i >> 6] >> (i & 63)) & 1; }
  void SetBits(std::vector<uint64_t>& v, uint64_t first, uint64_t count, bool on);
  uint64_t CountBits(const std::vector<uint64_t>& v, uint64_t first, uint64_t count) const;

  uint64_t volume_size_;
  uint64_t granule_size_;
  int granule_shift_;
  uint64_t granule_count_;
  std::vector<uint64_t> present_;
  std::vector<uint64_t> in_flight_;
  uint64_t present_count_ = 0;
  uint64_t in_flight_count_ = 0;
};

}  // namespace ferry
