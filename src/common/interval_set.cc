#include "common/interval_set.h"

#include <algorithm>

namespace ferry {

void IntervalSet::Add(uint64_t offset, uint64_t length) {
  if (length == 0) return;
  uint64_t begin = offset, end = offset + length;
  auto it = ranges_.upper_bound(begin);
  if (it != ranges_.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= begin) {  // overlaps or touches on the left
      begin = prev->first;
      end = std::max(end, prev->second);
      it = ranges_.erase(prev);
    }
  }
  while (it != ranges_.end() && it->first <= end) {
    end = std::max(end, it->second);
    it = ranges_.erase(it);
  }
  ranges_.emplace(begin, end);
}

void IntervalSet::Remove(uint64_t offset, uint64_t length) {
  if (length == 0) return;
  uint64_t begin = offset, end = offset + length;
  auto it = ranges_.upper_bound(begin);
  if (it != ranges_.begin()) --it;
  while (it != ranges_.end() && it->first < end) {
    uint64_t b = it->first, e = it->second;
    if (e <= begin) {
      ++it;
      continue;
    }
    it = ranges_.erase(it);
    if (b < begin) ranges_.emplace(b, begin);
    if (e > end) {
      ranges_.emplace(end, e);
      break;
    }
  }
}

bool IntervalSet::Covers(uint64_t offset, uint64_t length) const {
  if (length == 0) return true;
  auto it = ranges_.upper_bound(offset);
  if (it == ranges_.begin()) return false;
  --it;
  return it->first <= offset && it->second >= offset + length;
}

bool IntervalSet::Intersects(uint64_t offset, uint64_t length) const {
  return !Intersection(offset, length).empty();
}

std::vector<Range> IntervalSet::Intersection(uint64_t offset, uint64_t length) const {
  std::vector<Range> out;
  if (length == 0) return out;
  uint64_t end = offset + length;
  auto it = ranges_.upper_bound(offset);
  if (it != ranges_.begin()) --it;
  for (; it != ranges_.end() && it->first < end; ++it) {
    uint64_t b = std::max(it->first, offset), e = std::min(it->second, end);
    if (b < e) out.push_back({b, e - b});
  }
  return out;
}

uint64_t IntervalSet::UniformPrefix(uint64_t offset, uint64_t length) const {
  auto next = ranges_.upper_bound(offset);  // first range beginning after offset
  if (next != ranges_.begin()) {
    auto prev = std::prev(next);
    if (prev->second > offset) return std::min(prev->second - offset, length);  // inside
  }
  if (next == ranges_.end()) return length;
  return std::min(next->first - offset, length);
}

uint64_t IntervalSet::TotalBytes() const {
  uint64_t total = 0;
  for (const auto& [b, e] : ranges_) total += e - b;
  return total;
}

std::vector<Range> IntervalSet::Ranges() const {
  std::vector<Range> out;
  out.reserve(ranges_.size());
  for (const auto& [b, e] : ranges_) out.push_back({b, e - b});
  return out;
}

}  // namespace ferry
