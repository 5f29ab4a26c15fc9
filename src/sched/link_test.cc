// SourceLink's model of the link against a link made in the test: requests wait the
// base latency, then share the bandwidth either first come first served (a network
// queue, the simulator's link) or equally among those on it (nbdkit's rate filter,
// where every sleeper takes the refills it finds, and flows sharing a network path).
#include "sched/link.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace ferry {
namespace {

using Time = SourceLink::Time;
using std::chrono::milliseconds;
using std::chrono::microseconds;

constexpr double kMiB = 1 << 20;

enum class Sharing { kFirstComeFirstServed, kEqualShares };

class TestLink {
 public:
  TestLink(SourceLink& model, double rate, Time base, Sharing sharing)
      : model_(model), rate_(rate), base_(base), sharing_(sharing) {}

  // A token bucket in front (nbdkit's rate filter): it holds `seconds` of the rate, full
  // at the start, and while it has tokens the link serves up to `burst_rate`.
  void SetBucket(double seconds, double burst_rate) {
    bucket_capacity_ = tokens_ = rate_ * seconds;
    burst_rate_ = burst_rate;
  }

  void Send(uint64_t bytes, bool app, Time now) {
    requests_.push_back({model_.OnSend(bytes, app, now), static_cast<double>(bytes), now + base_});
  }

  // Moves the link on by dt from `now`; answers go to the model.
  void Step(Time now, Time dt) {
    const double secs = std::chrono::duration<double>(dt).count();
    double budget = rate_ * secs;
    if (bucket_capacity_ > 0) budget = std::min(tokens_ + rate_ * secs, std::max(budget, burst_rate_ * secs));
    const double offered = budget;
    std::vector<Request*> on_link;
    for (Request& r : requests_) {
      if (r.ready <= now) on_link.push_back(&r);
    }
    if (sharing_ == Sharing::kFirstComeFirstServed) {
      for (Request* r : on_link) {
        const double take = std::min(budget, r->left);
        r->left -= take;
        budget -= take;
      }
    } else {
      // Equal shares; what a finished request leaves goes to the others.
      while (budget > 1e-9 && !on_link.empty()) {
        const double share = budget / static_cast<double>(on_link.size());
        std::vector<Request*> still;
        for (Request* r : on_link) {
          const double take = std::min(share, r->left);
          r->left -= take;
          budget -= take;
          if (r->left > 1e-9) still.push_back(r);
        }
        if (still.size() == on_link.size()) break;
        on_link = std::move(still);
      }
    }
    if (bucket_capacity_ > 0) tokens_ = std::min(bucket_capacity_, tokens_ + rate_ * secs - (offered - budget));
    const Time end = now + dt;
    for (auto it = requests_.begin(); it != requests_.end();) {
      if (it->left > 1e-9) {
        ++it;
        continue;
      }
      model_.OnAnswer(it->send, end);
      if (!it->send.app) model_.OnCopyAnswered(it->send.bytes, end);
      it = requests_.erase(it);
    }
  }

  uint64_t copies_in_flight() const {
    uint64_t n = 0;
    for (const Request& r : requests_) n += r.send.app ? 0 : r.send.bytes;
    return n;
  }

 private:
  struct Request {
    LinkSend send;
    double left;
    Time ready;
  };
  SourceLink& model_;
  double rate_;
  Time base_;
  Sharing sharing_;
  std::vector<Request> requests_;
  double bucket_capacity_ = 0, tokens_ = 0, burst_rate_ = 0;
};

struct Load {
  uint64_t copy_bytes = 64 << 10;
  // Copies in flight: the model's budget when zero, else this many whatever it says.
  int fixed_copies = 0;
  Time app_every{0};  // an application read this often (zero: none)
  uint64_t app_bytes = 4096;  // ... of this many bytes
  double bucket_seconds = 0;  // a token bucket in front holding this much of the rate
  double burst_rate = 0;      // ... served this fast while it has tokens
};

// Drives `seconds` of the load on a link of `rate` bytes/s and `base` latency.
void Drive(SourceLink& model, double rate, Time base, Sharing sharing, const Load& load, double seconds) {
  TestLink link(model, rate, base, sharing);
  if (load.bucket_seconds > 0) link.SetBucket(load.bucket_seconds, load.burst_rate);
  const Time dt = microseconds(50);
  Time next_app{0};
  for (Time now{0}; now < std::chrono::duration_cast<Time>(std::chrono::duration<double>(seconds)); now += dt) {
    if (load.fixed_copies > 0) {
      while (link.copies_in_flight() < static_cast<uint64_t>(load.fixed_copies) * load.copy_bytes) {
        link.Send(load.copy_bytes, false, now);
      }
    } else {
      // As the scheduler: within the budget, and one copy when nothing is in flight.
      for (uint64_t budget = model.Budget(now);
           link.copies_in_flight() + load.copy_bytes <= budget || (link.copies_in_flight() == 0 && budget > 0);
           budget = model.Budget(now)) {
        link.Send(load.copy_bytes, false, now);
      }
      // And as the scheduler, the floor rate's copy when the budget allows none.
      if (link.copies_in_flight() == 0 && model.FloorDue(0, now)) {
        link.Send(load.copy_bytes, false, now);
        model.OnFloorCopy(load.copy_bytes, now);
      }
    }
    if (load.app_every > Time(0) && now >= next_app) {
      link.Send(load.app_bytes, true, now);
      next_app = now + load.app_every;
    }
    link.Step(now, dt);
  }
}

TEST(SourceLinkTest, OnAQueueTheModelMeasuresTheRateAndTheBaseLatency) {
  SourceLink model{LinkOptions{}};
  const double rate = 50 * kMiB;
  Drive(model, rate, milliseconds(2), Sharing::kFirstComeFirstServed, Load{}, 3);
  EXPECT_NEAR(model.delivery_rate() / rate, 1.0, 0.1);
  const double base_ms = std::chrono::duration<double, std::milli>(model.base_latency()).count();
  EXPECT_NEAR(base_ms, 2.0, 0.5);
  // Idle: the copies fill the bandwidth-delay product, and hold at most the idle queue
  // (10 ms) beyond it.
  const double bdp = rate * 0.002;
  EXPECT_GE(static_cast<double>(model.Budget(Time(std::chrono::seconds(3)))), bdp);
  EXPECT_LE(static_cast<double>(model.Budget(Time(std::chrono::seconds(3)))), bdp + rate * 0.010 + 2 * (64 << 10) + 1);
}

// A server that shares its bandwidth among the requests on it answers a small read
// among large copies at once, and the copies sent together all at the same moment: a
// span of answers shorter than their round trip showed many times the link's rate
// (measured against nbdkit's rate filter at 40 Mbit/s: 45 MiB/s for a 4.8 MiB/s link).
TEST(SourceLinkTest, AServerThatSharesItsBandwidthIsNotTakenForAFasterLink) {
  const double rate = 5 * kMiB;
  for (uint64_t copy : {uint64_t{64} << 10, uint64_t{1} << 20}) {
    SourceLink model{LinkOptions{}};
    Load load;
    load.copy_bytes = copy;
    load.fixed_copies = 3;
    load.app_every = milliseconds(20);
    Drive(model, rate, milliseconds(2), Sharing::kEqualShares, load, 10);
    EXPECT_LE(model.delivery_rate() / rate, 1.3) << "copies of " << copy << " bytes";
    EXPECT_GE(model.delivery_rate() / rate, 0.9) << "copies of " << copy << " bytes";
  }
}

// nbdkit's rate filter lets 2 s of its rate through at once before it holds to it (a
// token bucket; cloud disks' burst credits do the same). The burst is not the link's
// rate: soon after the bucket is spent, the estimate, the budget and the floor rate
// follow what the link serves (at 40 Mbit/s the estimate once stayed at 534 MB/s for
// the max filter's 2 s, and the budget queued 6.6 MB, 1.3 s of the link). Nor does a
// read sent through the burst pull the base latency down (half its round trip, taken
// for the latency, read 1.1 ms on nbdkit's 2 ms link).
TEST(SourceLinkTest, ATokenBucketsBurstIsNotTakenForTheLinksRate) {
  const double rate = 5 * kMiB;
  for (Sharing sharing : {Sharing::kFirstComeFirstServed, Sharing::kEqualShares}) {
    SourceLink model{LinkOptions{}};
    Load load;
    load.bucket_seconds = 2;
    load.burst_rate = 500 * kMiB;
    load.app_every = milliseconds(20);
    // The bucket is spent in the first tenth of a second; a second later the
    // estimate is what the link serves.
    Drive(model, rate, milliseconds(2), sharing, load, 1);
    EXPECT_LE(model.delivery_rate() / rate, 1.3);
    EXPECT_GE(model.delivery_rate() / rate, 0.8);
    // The budget: a few chunks, not megabytes.
    EXPECT_LE(static_cast<double>(model.Budget(Time(std::chrono::seconds(1)))), rate * 0.05);
    const double base_ms = std::chrono::duration<double, std::milli>(model.base_latency()).count();
    EXPECT_NEAR(base_ms, 2.0, 0.5) << (sharing == Sharing::kEqualShares ? "shared" : "queue");
  }
}

// A read of a granule whose copy is in flight waits for that copy on a queue (it was
// sent first), and is read through where the server answers small reads first.
TEST(SourceLinkTest, AReadGoesBeforeACopyOnlyWhereTheLinkAnswersItFirst) {
  const double rate = 50 * kMiB;
  Load load;
  load.fixed_copies = 13;
  load.app_every = milliseconds(5);
  const Time end = std::chrono::seconds(3);
  SourceLink queue{LinkOptions{}};
  Drive(queue, rate, milliseconds(2), Sharing::kFirstComeFirstServed, load, 3);
  EXPECT_FALSE(queue.ReadBeforeCopy(end, end));
  SourceLink shared{LinkOptions{}};
  Drive(shared, rate, milliseconds(2), Sharing::kEqualShares, load, 3);
  EXPECT_TRUE(shared.ReadBeforeCopy(end, end));  // a copy sent just now
  EXPECT_FALSE(shared.ReadBeforeCopy(end - milliseconds(30), end));  // one about to land
}

// The idle budget holds the bandwidth-delay product plus 10 ms of the link; the
// application's first read after a quiet spell meets those copies, which were sent
// before its window was set. That read's wait is not the window's doing, and must not
// halve it: msr_cut_rand_iops stretched x100, whose reads come and go, had the first
// read of each burst halve the window, and the copy ran under the bandwidth-delay
// product (the migration 8.4% behind dm-clone's, 4.7% now).
TEST(SourceLinkTest, TheIdleBudgetsCopiesDoNotShrinkTheWindowOfAnApplicationThatStarts) {
  const double rate = 300 * kMiB;
  const uint64_t copy = 64 << 10;
  SourceLink model{LinkOptions{}};
  TestLink link(model, rate, milliseconds(2), Sharing::kFirstComeFirstServed);
  const Time dt = microseconds(50);
  auto run = [&](Time from, Time to, auto&& until) {
    for (Time now = from; now < to; now += dt) {
      while (link.copies_in_flight() + copy <= model.Budget(now)) link.Send(copy, false, now);
      link.Step(now, dt);
      if (until(now + dt)) return now + dt;
    }
    return to;
  };
  const Time start = run(Time(0), std::chrono::seconds(1), [](Time) { return false; });
  ASSERT_FALSE(model.AppActive(start));
  const double backlog = static_cast<double>(link.copies_in_flight());
  ASSERT_GT(backlog, 2 * rate * 0.002);  // well over the bandwidth-delay product
  // The application reads; the window is set as it starts.
  link.Send(4096, /*app=*/true, start);
  const uint64_t window = model.Budget(start);
  const double base = std::chrono::duration<double>(model.base_latency()).count();
  const double target = std::chrono::duration<double>(model.latency_target()).count();
  EXPECT_NEAR(static_cast<double>(window), model.delivery_rate() * (base + target), copy);
  // Its read waits behind the backlog, many times the target ...
  const Time answered = run(start, start + milliseconds(100), [&](Time) { return model.Snapshot(start).queue_delay_s > 0; });
  EXPECT_GT(model.Snapshot(answered).queue_delay_s, 4 * target);
  // ... and the window stands.
  EXPECT_EQ(model.Budget(answered), window);
}

TEST(SourceLinkTest, WhileTheApplicationWaitsItsReadsQueueNoLongerThanTheTarget) {
  SourceLink model{LinkOptions{}};
  Load load;
  load.app_every = milliseconds(5);
  const double rate = 50 * kMiB;
  Drive(model, rate, milliseconds(2), Sharing::kFirstComeFirstServed, load, 5);
  const Time end = std::chrono::seconds(5);
  ASSERT_TRUE(model.AppActive(end));
  const double target = std::chrono::duration<double>(model.latency_target()).count();
  EXPECT_LE(model.Snapshot(end).queue_delay_s, target);
  // Copy bytes in flight ahead of a read are what it queues behind: the
  // bandwidth-delay product and the target's worth, give or take a copy.
  EXPECT_LE(static_cast<double>(model.Budget(end)), rate * (0.002 + target) + (64 << 10));
  // And the copy goes on: more than the floor rate's one copy in flight.
  EXPECT_GE(model.Budget(end), uint64_t{2} * (64 << 10));
}

// A file system's reads are large (ext4 reads ahead 128 KiB): one may take half as
// long again as its own time on the link (issue 12's bound), so the copies ahead of it
// are held to about one, not the three smallest copies that small reads get (a 64 KiB
// copy on a 40 Mbit/s link is 13 ms of it; three made 128 KiB reads wait 51-60 ms at
// the median against a bound of 42 ms). The bound is worked out on the model's own
// base latency, which is at least half of a request's round trip: with no request
// smaller than a copy it reads 7 ms here, not 2 (docs/design-notes.md).
TEST(SourceLinkTest, LargeReadsWaitBehindCopiesAtMostHalfTheirOwnTime) {
  const double rate = 5 * kMiB, read = 128 << 10, copy = 64 << 10;
  SourceLink model{LinkOptions{}};
  Load load;
  load.app_every = milliseconds(50);
  load.app_bytes = 128 << 10;
  Drive(model, rate, milliseconds(2), Sharing::kFirstComeFirstServed, load, 5);
  const Time end = std::chrono::seconds(5);
  ASSERT_TRUE(model.AppActive(end));
  const double target = std::chrono::duration<double>(model.latency_target()).count();
  const double measured = model.delivery_rate(), base = model.Snapshot(end).base_latency_s;
  EXPECT_NEAR(measured / rate, 1.0, 0.1);
  EXPECT_NEAR(target, 0.5 * (base + read / measured), 0.001);
  EXPECT_LT(target, 2 * copy / measured);  // about one copy, where the rule for small reads gives three
  EXPECT_GE(target, copy / measured * 0.99);  // never under one copy
  // The smoothed queueing delay swings by a copy's worth (one 64 KiB copy is 13 ms of
  // this link): on the whole, at most the target.
  double queued = 0;
  for (int secs = 3; secs <= 8; ++secs) {
    SourceLink m{LinkOptions{}};
    Drive(m, rate, milliseconds(2), Sharing::kFirstComeFirstServed, load, secs);
    queued += m.Snapshot(std::chrono::seconds(secs)).queue_delay_s / 6;
  }
  EXPECT_LE(queued, target);
  // Small reads keep three smallest copies: no copy could meet their bound.
  SourceLink small{LinkOptions{}};
  load.app_bytes = 4096;
  Drive(small, rate, milliseconds(2), Sharing::kFirstComeFirstServed, load, 5);
  EXPECT_NEAR(std::chrono::duration<double>(small.latency_target()).count(), 3 * copy / small.delivery_rate(), 1e-4);
}

}  // namespace
}  // namespace ferry
