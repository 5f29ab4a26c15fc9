// SimLink: the simulator's source link, request by request.
#include "sim/sim_link.h"

#include <gtest/gtest.h>

namespace ferry {
namespace {

using Time = SimLink::Time;
using std::chrono::milliseconds;

constexpr uint64_t kBw = 1000000;  // 1 MB/s: 1 KB is 1 ms

TEST(SimLinkTest, RequestsWaitTheLatencyThenCrossInTurn) {
  SimLink link({milliseconds(2), kBw});
  EXPECT_EQ(link.Transfer(1000, Time(0), false), milliseconds(3));
  EXPECT_EQ(link.Transfer(1000, Time(0), true), milliseconds(4));  // behind the first
  EXPECT_EQ(link.Transfer(1000, milliseconds(10), false), milliseconds(13));  // the link was idle
}

TEST(SimLinkTest, OnASharedLinkAWaitedOnReadTakesItsShareBesideTheCopies) {
  SimLink link({milliseconds(2), kBw, /*shared=*/true});
  for (int i = 0; i < 3; ++i) link.CopyOnLink(link.Transfer(10000, Time(0), false));  // answered at 12, 22, 32 ms
  // 1 KB arriving at 2 ms beside three copies: its own 1 ms and 1 ms for each.
  EXPECT_EQ(link.Transfer(1000, Time(0), true), milliseconds(6));
  // 5 KB arriving at 20 ms: the second copy has 2 ms left, the third more than 5 ms:
  // held back 2 ms and 5 ms (first come first served: at 37 ms; 5 ms per copy: 35 ms).
  SimLink late({milliseconds(2), kBw, true});
  for (int i = 0; i < 3; ++i) late.CopyOnLink(late.Transfer(10000, Time(0), false));
  EXPECT_EQ(late.Transfer(5000, milliseconds(18), true), milliseconds(20 + 5 + 2 + 5));
  // Never later than first come first served: a copy behind waits for it.
  SimLink fifo({milliseconds(2), kBw, true});
  fifo.CopyOnLink(fifo.Transfer(1000, Time(0), false));
  EXPECT_EQ(fifo.Transfer(1000, Time(0), true), milliseconds(4));
}

TEST(SimLinkTest, AServerOfNThreadsWorksOnNRequestsAtOnceTheRestWait) {
  // Two threads, 2 ms a request, a link that is not the limit (1 GB/s: 1 KB in 1 us).
  SimLink::Options o{milliseconds(2), 1000 * kBw};
  o.servers = 2;
  SimLink link(o);
  const Time us(1000);
  EXPECT_EQ(link.Transfer(1000, Time(0), false), milliseconds(2) + us);
  EXPECT_EQ(link.Transfer(1000, Time(0), true), milliseconds(2) + 2 * us);  // its bytes behind the first's
  // Both threads busy: the third waits for the first to answer, the fourth for the second.
  EXPECT_EQ(link.Transfer(1000, Time(0), true), milliseconds(4) + 2 * us);
  EXPECT_EQ(link.Transfer(1000, Time(0), false), milliseconds(4) + 3 * us);
  // Later, with a thread free again: no wait.
  EXPECT_EQ(link.Transfer(1000, milliseconds(10), true), milliseconds(12) + us);
  // Any number of threads (the default): the four at once all answer after 2 ms.
  SimLink any({milliseconds(2), 1000 * kBw});
  for (int i = 1; i <= 4; ++i) EXPECT_EQ(any.Transfer(1000, Time(0), false), milliseconds(2) + i * us);
}

TEST(SimLinkTest, ATokenBucketLetsWhatItHoldsCrossAtItsOwnSpeed) {
  // 5 ms of the bandwidth (5 KB), crossing at 5 MB/s.
  SimLink link({milliseconds(2), kBw, false, milliseconds(5), 5 * kBw});
  EXPECT_EQ(link.Transfer(5000, Time(0), false), milliseconds(3));  // 5 KB at 5 MB/s
  EXPECT_EQ(link.Transfer(1000, Time(0), false), milliseconds(4));  // empty: at the bandwidth
  // Idle for 2 ms from 4: the bucket holds 2 KB again.
  EXPECT_EQ(link.Transfer(3000, milliseconds(4), false), Time(std::chrono::microseconds(6000 + 400 + 1000)));
}

}  // namespace
}  // namespace ferry
