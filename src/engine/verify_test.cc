#include <gtest/gtest.h>

#include "ferry/engine.h"

namespace ferry {
namespace {

std::unique_ptr<Volume> Filled(uint64_t size, uint8_t v) {
  auto vol = NewMemoryVolume("v", size);
  std::vector<std::byte> b(size, std::byte{v});
  EXPECT_TRUE(vol->Write(0, b).ok());
  return vol;
}

TEST(VerifyTest, EqualVolumesAreEqual) {
  auto a = Filled(4 << 20, 7), b = Filled(4 << 20, 7);
  auto r = Verify(*a, *b, VerifyOptions{});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->equal);
  EXPECT_EQ(r->bytes_compared, 4u << 20);
}

TEST(VerifyTest, ReportsTheDifferingRangesInOrder) {
  auto a = Filled(8 << 20, 7), b = Filled(8 << 20, 7);
  std::vector<std::byte> x(1, std::byte{8});
  ASSERT_TRUE(b->Write(5 << 20, x).ok());
  ASSERT_TRUE(b->Write(4096 * 3 + 17, x).ok());
  ASSERT_TRUE(b->Write(4096 * 4, x).ok());
  VerifyOptions o;
  o.chunk_size = 1 << 20;
  auto r = Verify(*a, *b, o);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->equal);
  ASSERT_EQ(r->differing.size(), 2u);
  EXPECT_EQ(r->differing[0], (Range{4096 * 3, 8192}));  // adjacent blocks merge
  EXPECT_EQ(r->differing[1], (Range{5 << 20, 4096}));
}

TEST(VerifyTest, ShorterDestinationDiffers) {
  auto a = Filled(2 << 20, 7), b = Filled(1 << 20, 7);
  auto r = Verify(*a, *b, VerifyOptions{});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->equal);
  ASSERT_EQ(r->differing.size(), 1u);
  EXPECT_EQ(r->differing[0], (Range{1 << 20, 1 << 20}));
}

TEST(VerifyTest, LargerDestinationComparesTheSourceSizeOnly) {
  auto a = Filled(1 << 20, 7), b = Filled(2 << 20, 7);
  std::vector<std::byte> x(1, std::byte{8});
  ASSERT_TRUE(b->Write((1 << 20) + 5, x).ok());
  auto r = Verify(*a, *b, VerifyOptions{});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->equal);
}

TEST(VerifyTest, DifferencesWhereTheApplicationWroteAreNotReported) {
  auto a = Filled(4 << 20, 7), b = Filled(4 << 20, 7);
  std::vector<std::byte> x(1, std::byte{8});
  ASSERT_TRUE(b->Write(1 << 20, x).ok());        // the application's
  ASSERT_TRUE(b->Write((3 << 20) + 9, x).ok());  // not the application's
  VerifyOptions o;
  o.written = [](uint64_t off, uint64_t len) { return off < (1 << 20) + 65536 && off + len > (1 << 20); };
  auto r = Verify(*a, *b, o);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->equal);
  ASSERT_EQ(r->differing.size(), 1u);
  EXPECT_EQ(r->differing[0], (Range{3 << 20, 4096}));
  EXPECT_EQ(r->bytes_written, 4096u);
  ASSERT_TRUE(b->Write((3 << 20) + 9, std::vector<std::byte>(1, std::byte{7})).ok());
  r = Verify(*a, *b, o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->equal);
}

}  // namespace
}  // namespace ferry
