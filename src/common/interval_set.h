// IntervalSet: a set of disjoint half-open byte ranges [begin, end), merged on insert.
// Used for allocation maps (which ranges of a volume read as zero) and for reports of
// differing ranges. Not thread-safe; callers that share one guard it.
#pragma once

#include <cstdint>
#include <cstddef>
#include <map>
#include <vector>

#include "ferry/range.h"

namespace ferry {

class IntervalSet {
 public:
  // Adds [offset, offset+length); merges with neighbours it touches or overlaps.
  void Add(uint64_t offset, uint64_t length);
  // Removes [offset, offset+length), splitting ranges as needed.
  void Remove(uint64_t offset, uint64_t length);
  // True when every byte of [offset, offset+length) is in the set (true for length 0).
  bool Covers(uint64_t offset, uint64_t length) const;
  // True when some byte of [offset, offset+length) is in the set.
  bool Intersects(uint64_t offset, uint64_t length) const;
  // The parts of [offset, offset+length) that are in the set, ascending.
  std::vector<Range> Intersection(uint64_t offset, uint64_t length) const;
  // The length of the longest prefix of [offset, offset+length) that lies wholly in the
  // set or wholly outside it (0 only when length is 0).
  uint64_t UniformPrefix(uint64_t offset, uint64_t length) const;
  // Total bytes in the set.
  uint64_t TotalBytes() const;
  std::vector<Range> Ranges() const;
  bool empty() const { return ranges_.empty(); }

 private:
  std::map<uint64_t, uint64_t> ranges_;  // begin -> end
};

}  // namespace ferry
