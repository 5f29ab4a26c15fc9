#include "volume/fault_volume.h"

#include <gtest/gtest.h>

namespace ferry {
namespace {

std::vector<std::byte> Bytes(size_t n, uint8_t v) { return std::vector<std::byte>(n, std::byte{v}); }

TEST(FaultVolumeTest, FailsTheGivenRangeTheGivenNumberOfTimes) {
  auto mem = NewMemoryVolume("mem", 1 << 20);
  FaultVolume f(mem.get());
  f.FailRange(false, 4096, 4096, IoError("injected"), 2);
  auto buf = Bytes(4096, 0);
  EXPECT_TRUE(f.Read(0, buf).ok());
  EXPECT_FALSE(f.Read(4096, buf).ok());
  EXPECT_FALSE(f.Read(6000, buf).ok());
  EXPECT_TRUE(f.Read(4096, buf).ok());
}

TEST(FaultVolumeTest, CrashLosesUnflushedWritesOnly) {
  auto mem = NewMemoryVolume("mem", 1 << 20);
  FaultVolume f(mem.get());
  ASSERT_TRUE(f.Write(0, Bytes(4096, 1)).ok());
  ASSERT_TRUE(f.Flush().ok());
  ASSERT_TRUE(f.Write(0, Bytes(4096, 2)).ok());
  ASSERT_TRUE(f.Write(8192, Bytes(4096, 3)).ok());
  ASSERT_TRUE(f.Crash().ok());
  auto buf = Bytes(4096, 9);
  ASSERT_TRUE(mem->Read(0, buf).ok());
  EXPECT_EQ(buf, Bytes(4096, 1));
  ASSERT_TRUE(mem->Read(8192, buf).ok());
  EXPECT_EQ(buf, Bytes(4096, 0));
}

TEST(FaultVolumeTest, CrashAfterWritesStopsEverything) {
  auto mem = NewMemoryVolume("mem", 1 << 20);
  FaultVolume f(mem.get());
  f.CrashAfterWrites(1);
  EXPECT_TRUE(f.Write(0, Bytes(4096, 1)).ok());
  EXPECT_FALSE(f.Write(4096, Bytes(4096, 1)).ok());
  EXPECT_FALSE(f.Flush().ok());
  EXPECT_EQ(f.mutations(), 2u);
}

}  // namespace
}  // namespace ferry
