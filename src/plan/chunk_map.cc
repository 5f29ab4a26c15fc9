#include "plan/chunk_map.h"

#include <bit>
#include <cassert>

namespace ferry {

ChunkMap::ChunkMap(uint64_t volume_size, uint64_t granule_size)
    : volume_size_(volume_size), granule_size_(granule_size) {
  assert(std::has_single_bit(granule_size) && granule_size >= 4096);  // validated by callers
  granule_shift_ = std::countr_zero(granule_size);
  granule_count_ = (volume_size + granule_size - 1) >> granule_shift_;
  present_.assign((granule_count_ + 63) / 64, 0);
  in_flight_.assign(present_.size(), 0);
}

Range ChunkMap::Bytes(GranuleRun run) const {
  uint64_t begin = run.first.value << granule_shift_;
  uint64_t end = std::min(volume_size_, (run.first.value + run.count) << granule_shift_);
  return {begin, end > begin ? end - begin : 0};
}

GranuleRun ChunkMap::WholeGranules(uint64_t offset, uint64_t length) const {
  const uint64_t first = (offset + granule_size_ - 1) >> granule_shift_;
  const uint64_t end = offset + length >= volume_size_ ? granule_count_ : (offset + length) >> granule_shift_;
  return {GranuleIndex(first), end > first ? end - first : 0};
}

GranuleState ChunkMap::state(GranuleIndex g) const {
  assert(g.value < granule_count_);
  if (Bit(present_, g.value)) return GranuleState::kPresent;
  if (Bit(in_flight_, g.value)) return GranuleState::kInFlight;
  return GranuleState::kMissing;
}

uint64_t ChunkMap::CountBits(const std::vector<uint64_t>& v, uint64_t first, uint64_t count) const {
  uint64_t n = 0;
  for (uint64_t i = first; i < first + count;) {
    if ((i & 63) == 0 && i + 64 <= first + count) {
      n += std::popcount(v[i >> 6]);
      i += 64;
    } else {
      n += Bit(v, i);
      ++i;
    }
  }
  return n;
}

void ChunkMap::SetBits(std::vector<uint64_t>& v, uint64_t first, uint64_t count, bool on) {
  for (uint64_t i = first; i < first + count;) {
    if ((i & 63) == 0 && i + 64 <= first + count) {
      v[i >> 6] = on ? ~0ull : 0;
      i += 64;
    } else {
      uint64_t m = 1ull << (i & 63);
      v[i >> 6] = on ? (v[i >> 6] | m) : (v[i >> 6] & ~m);
      ++i;
    }
  }
}

void ChunkMap::Set(GranuleRun run, GranuleState state) {
  assert(run.first.value + run.count <= granule_count_);
  uint64_t f = run.first.value, n = run.count;
  present_count_ -= CountBits(present_, f, n);
  in_flight_count_ -= CountBits(in_flight_, f, n);
  SetBits(present_, f, n, state == GranuleState::kPresent);
  SetBits(in_flight_, f, n, state == GranuleState::kInFlight);
  if (state == GranuleState::kPresent) present_count_ += n;
  if (state == GranuleState::kInFlight) in_flight_count_ += n;
}

std::optional<GranuleRun> ChunkMap::NextMissing(GranuleIndex from, uint64_t max_count, uint64_t end) const {
  end = std::min(end, granule_count_);
  uint64_t i = from.value;
  // Skip granules that are present or in flight, a word at a time.
  while (i < end) {
    uint64_t shift = i & 63;
    uint64_t busy = (present_[i >> 6] | in_flight_[i >> 6]) >> shift;
    int ones = std::countr_one(busy);  // busy granules from i on, within this word
    if (static_cast<uint64_t>(ones) < 64 - shift) {
      i += ones;
      break;
    }
    i = (i | 63) + 1;
  }
  if (i >= end || max_count == 0) return std::nullopt;
  uint64_t j = i;
  while (j < end && j - i < max_count && !Bit(present_, j) && !Bit(in_flight_, j)) ++j;
  return GranuleRun{GranuleIndex(i), j - i};
}

uint64_t ChunkMap::present_bytes() const {
  if (present_count_ == 0) return 0;
  uint64_t bytes = present_count_ << granule_shift_;
  // The last granule may be short.
  uint64_t tail = (granule_count_ << granule_shift_) - volume_size_;
  if (tail && Bit(present_, granule_count_ - 1)) bytes -= tail;
  return bytes;
}

void ChunkMap::LoadPresent(const std::vector<uint64_t>& words) {
  std::fill(present_.begin(), present_.end(), 0);
  std::fill(in_flight_.begin(), in_flight_.end(), 0);
  for (size_t w = 0; w < present_.size() && w < words.size(); ++w) present_[w] = words[w];
  if (granule_count_ % 64) present_.back() &= (1ull << (granule_count_ % 64)) - 1;
  present_count_ = CountBits(present_, 0, granule_count_);
  in_flight_count_ = 0;
}

}  // namespace ferry
