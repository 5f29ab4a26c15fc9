// The engine and the simulator make the same copy decisions for the same event
// sequence: both drive the one Scheduler (DESIGN.md "Architecture").
#include <gtest/gtest.h>

#include <random>

#include "ferry/engine.h"
#include "sim/simulator.h"

namespace ferry {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
constexpr uint64_t kG = 64 << 10;
constexpr uint64_t kVolume = 64ull << 20;

// History: reads over three hot spots with different heat, 985 s to 989 s.
std::vector<IoEvent> History() {
  std::vector<IoEvent> ev;
  std::mt19937_64 rng(3);
  const uint64_t spots[] = {40ull << 20, 8ull << 20, 60ull << 20};
  for (int i = 0; i < 3000; ++i) {
    IoEvent e;
    e.time = seconds(985) + milliseconds(i);
    const uint64_t spot = spots[rng() % 6 < 3 ? 0 : rng() % 3];
    e.offset = spot + (rng() % (1 << 20)) / 4096 * 4096;
    e.length = 4096 * (1 + rng() % 16);
    e.op = rng() % 4 ? IoOp::kRead : IoOp::kWrite;
    ev.push_back(e);
  }
  return ev;
}

TEST(EquivalenceTest, EngineAndSimulatorIssueTheSameCopies) {
  for (Policy policy : {Policy::kAdaptive, Policy::kHeat, Policy::kDmClone, Policy::kQemuStream}) {
    SCOPED_TRACE(PolicyName(policy));
    std::vector<IoEvent> history = History();

    // The engine: history as --trace, one copy at a time, fixed cold chunk size.
    auto src = NewMemoryVolume("src", kVolume);
    std::vector<std::byte> data(kVolume);
    std::mt19937_64 rng(1);
    for (auto& b : data) b = std::byte(rng() | 1);
    ASSERT_TRUE(src->Write(0, data).ok());
    auto dst = NewMemoryVolume("dst", kVolume);
    MigrateOptions mo;
    mo.threads = 1;
    mo.max_in_flight = 1;  // one copy at a time, as the simulator's max_in_flight below
    mo.policy = policy;
    mo.adapt_chunk_size = false;
    mo.history = &history;
    std::vector<Range> engine_ops;
    mo.on_copy = [&](const Range& r) { engine_ops.push_back(r); };
    ASSERT_TRUE(Migrate(*src, *dst, nullptr, mo).ok());

    // The simulator: the same events as the warm-up, one event long after the copy.
    std::vector<IoEvent> events = history;
    IoEvent late;
    late.time = seconds(2000);
    events.push_back(late);
    SimScenario s;
    s.warmup = 5.0 / 1015;  // the migration starts at 990 s, long before the late event
    s.volume_size = kVolume;
    s.max_in_flight = 1;
    // A link as fast as the engine's memory volumes, so the link controller's limits
    // (which follow the measured link) do not bind in either.
    s.source_bw = 1ull << 40;
    s.source_latency = std::chrono::nanoseconds(0);
    s.adapt_chunk_size = false;
    auto sc = ResolveScenario(events, s);
    ASSERT_TRUE(sc.ok());
    ASSERT_EQ(sc->warmup_events, history.size());
    std::vector<Range> sim_ops;
    SimOptions so;
    so.on_copy = [&](const Range& r) { sim_ops.push_back(r); };
    SimResult r = Simulate(events, *sc, policy, so);
    ASSERT_TRUE(r.completed);

    // The same granules in the same order. (Chunk lengths may differ: the link
    // controller limits a chunk to half its budget, which follows the link each one
    // measures, and a slow build's memory volume is no infinite link.)
    auto granules = [](const std::vector<Range>& ops) {
      std::vector<uint64_t> g;
      for (const Range& r : ops) {
        for (uint64_t o = r.offset; o < r.offset + r.length; o += kG) g.push_back(o / kG);
      }
      return g;
    };
    ASSERT_EQ(granules(engine_ops), granules(sim_ops));
    // And the history did change the order for the heat policies.
    if (policy == Policy::kAdaptive || policy == Policy::kHeat) {
      EXPECT_NE(engine_ops.front().offset, 0u);
    }
  }
}

}  // namespace
}  // namespace ferry
