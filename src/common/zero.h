// IsAllZero: whether a buffer holds only zero bytes (zero detection for sparse copies).
#pragma once

#include <cstddef>
#include <cstring>

namespace ferry {

inline bool IsAllZero(const std::byte* p, size_t n) {
  // Check a short prefix, then compare the buffer with itself shifted by that prefix:
  // memcmp is vectorised, and a run of zeroes equals itself shifted.
  constexpr size_t kPrefix = 16;
  if (n <= kPrefix) {
    for (size_t i = 0; i < n; ++i) {
      if (p[i] != std::byte{0}) return false;
    }
    return true;
  }
  for (size_t i = 0; i < kPrefix; ++i) {
    if (p[i] != std::byte{0}) return false;
  }
  return std::memcmp(p, p + kPrefix, n - kPrefix) == 0;
}

}  // namespace ferry
