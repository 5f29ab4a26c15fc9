#include "engine/rate_limiter.h"

#include <gtest/gtest.h>

namespace ferry {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiterTest, SpacesRequestsByTheirSize) {
  RateLimiter r(1 << 20);  // 1 MiB/s
  RateLimiter::Clock::time_point t0{};
  EXPECT_EQ(r.Reserve(1 << 19, t0), t0);         // first goes now
  EXPECT_EQ(r.Reserve(1 << 19, t0), t0 + 500ms);  // then half a second later
  EXPECT_EQ(r.Reserve(1 << 20, t0), t0 + 1s);
  EXPECT_EQ(r.Reserve(1, t0 + 5s), t0 + 5s);  // idle time buys no burst
}

TEST(RateLimiterTest, PaidUntilIsTheEndOfWhatIsBooked) {
  RateLimiter r(1 << 20);
  RateLimiter::Clock::time_point t0{};
  r.Reserve(1 << 19, t0);
  EXPECT_EQ(r.PaidUntil(), t0 + 500ms);
  r.Reserve(1 << 20, t0);
  EXPECT_EQ(r.PaidUntil(), t0 + 1500ms);
  r.SetRate(0);
  EXPECT_EQ(r.PaidUntil(), RateLimiter::Clock::time_point{});  // nothing to wait for
}

TEST(RateLimiterTest, ZeroRateMeansUnlimited) {
  RateLimiter r(0);
  RateLimiter::Clock::time_point t0{};
  EXPECT_EQ(r.Reserve(1ull << 40, t0), t0);
  EXPECT_EQ(r.Reserve(1ull << 40, t0), t0);
}

}  // namespace
}  // namespace ferry
