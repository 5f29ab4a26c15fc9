#include "sched/kept_reads.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace ferry {
namespace {

using std::chrono::milliseconds;
using Time = KeptReads::Time;

std::vector<std::byte> Bytes(size_t n, int seed) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::byte(static_cast<unsigned char>(seed + i));
  return v;
}

TEST(KeptReadsTest, AnswersAReadInsideAKeptAnswerWithItsBytes) {
  KeptReads k;
  const auto data = Bytes(8192, 7);
  k.Keep(65536, 8192, data, Time(0));
  std::vector<std::byte> out(4096);
  ASSERT_TRUE(k.Find(65536 + 4096, 4096, Time(0), out).kept);
  EXPECT_EQ(0, std::memcmp(out.data(), data.data() + 4096, 4096));
  // Not inside one answer: past its end, or before its start.
  EXPECT_FALSE(k.Find(65536 + 4096, 8192, Time(0)).kept);
  EXPECT_FALSE(k.Find(65536 - 512, 1024, Time(0)).kept);
  EXPECT_FALSE(k.Find(0, 4096, Time(0)).kept);
}

TEST(KeptReadsTest, AnAnswerOnItsWaySaysWhenItComes) {
  KeptReads k;
  k.Keep(0, 4096, {}, Time(milliseconds(3)));  // the simulator's: range alone, answered at 3 ms
  const KeptReads::Found f = k.Find(0, 4096, Time(milliseconds(2)));
  EXPECT_TRUE(f.kept);
  EXPECT_EQ(f.ready, Time(milliseconds(3)));
}

TEST(KeptReadsTest, TheEnginesAnswerIsFilledWhenItComesOrForgottenWhenItFails) {
  KeptReads k;
  const auto data = Bytes(4096, 5);
  const uint64_t t1 = k.Keep(0, 4096, {}, KeptReads::kNotYet);
  const uint64_t t2 = k.Keep(8192, 4096, {}, KeptReads::kNotYet);
  std::vector<std::byte> out(4096);
  EXPECT_EQ(k.Find(0, 4096, Time(milliseconds(1)), out).ready, KeptReads::kNotYet);
  k.Fill(t1, 0, data, Time(milliseconds(2)));
  k.Fill(t1, 8192, data, Time(milliseconds(2)));  // not its ticket: nothing
  ASSERT_EQ(k.Find(0, 4096, Time(milliseconds(2)), out).ready, Time(milliseconds(2)));
  EXPECT_EQ(out, data);
  EXPECT_EQ(k.Find(8192, 4096, Time(milliseconds(2))).ready, KeptReads::kNotYet);
  k.Forget(t2, 8192);
  EXPECT_FALSE(k.Find(8192, 4096, Time(milliseconds(2))).kept);
  EXPECT_EQ(k.bytes(), 4096u);
  // A newer read of the same bytes replaced an answer on its way: the old one's
  // answer fills nothing, the newer one's does.
  const uint64_t t3 = k.Keep(16384, 4096, {}, KeptReads::kNotYet);
  const uint64_t t4 = k.Keep(16384, 4096, {}, KeptReads::kNotYet);
  k.Fill(t3, 16384, Bytes(4096, 9), Time(milliseconds(3)));
  EXPECT_EQ(k.Find(16384, 4096, Time(milliseconds(3))).ready, KeptReads::kNotYet);
  k.Fill(t4, 16384, data, Time(milliseconds(4)));
  ASSERT_TRUE(k.Find(16384, 4096, Time(milliseconds(4)), out).kept);
  EXPECT_EQ(out, data);
}

TEST(KeptReadsTest, ANewerAnswerReplacesWhatItOverlaps) {
  KeptReads k;
  k.Keep(0, 8192, Bytes(8192, 1), Time(0));
  k.Keep(8192, 4096, Bytes(4096, 2), Time(0));
  k.Keep(4096, 8192, Bytes(8192, 3), Time(0));  // overlaps both
  EXPECT_EQ(k.bytes(), 8192u);
  EXPECT_FALSE(k.Find(0, 4096, Time(0)).kept);
  std::vector<std::byte> out(8192);
  ASSERT_TRUE(k.Find(4096, 8192, Time(0), out).kept);
  EXPECT_EQ(out, Bytes(8192, 3));
}

TEST(KeptReadsTest, TheLeastRecentlyUsedGoesFirstWhenFull) {
  KeptReads k(3 * 4096);
  k.Keep(0, 4096, {}, Time(0));
  k.Keep(4096, 4096, {}, Time(0));
  k.Keep(8192, 4096, {}, Time(0));
  ASSERT_TRUE(k.Find(0, 4096, Time(0)).kept);  // the first is used again: the second is oldest
  k.Keep(12288, 4096, {}, Time(0));
  EXPECT_EQ(k.bytes(), 3u * 4096);
  EXPECT_TRUE(k.Find(0, 4096, Time(0)).kept);
  EXPECT_FALSE(k.Find(4096, 4096, Time(0)).kept);
  EXPECT_TRUE(k.Find(8192, 4096, Time(0)).kept);
  EXPECT_TRUE(k.Find(12288, 4096, Time(0)).kept);
  // An answer larger than the whole capacity is not kept, and drops nothing.
  k.Keep(1 << 20, 4 * 4096, {}, Time(0));
  EXPECT_FALSE(k.Find(1 << 20, 4096, Time(0)).kept);
  EXPECT_TRUE(k.Find(0, 4096, Time(0)).kept);
}

}  // namespace
}  // namespace ferry
