// ferry/range.h: a byte range of a volume.
#pragma once

#include <cstdint>

namespace ferry {

struct Range {
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t end() const { return offset + length; }
  bool operator==(const Range&) const = default;
};

}  // namespace ferry
