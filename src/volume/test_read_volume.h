// ReadAll: a whole volume's bytes, for tests that compare volumes.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

#include "ferry/volume.h"

namespace ferry {

inline std::vector<std::byte> ReadAll(Volume& v) {
  std::vector<std::byte> b(v.size());
  EXPECT_TRUE(v.Read(0, b).ok());
  return b;
}

}  // namespace ferry
