// The engine and the simulator make the same copy decisions for the same event
// sequence: both drive the one Scheduler (DESIGN.md "Architecture").
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <random>

#include "ferry/engine.h"
#include "ferry/live.h"
#include "common/test_sync_point.h"
#include "predict/predictor.h"
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

// The granules of a list of copies, in order.
std::vector<uint64_t> Granules(const std::vector<Range>& ops) {
  std::vector<uint64_t> g;
  for (const Range& r : ops) {
    for (uint64_t o = r.offset; o < r.offset + r.length; o += kG) g.push_back(o / kG);
  }
  return g;
}

std::unique_ptr<Volume> Source() {
  auto src = NewMemoryVolume("src", kVolume);
  std::vector<std::byte> data(kVolume);
  std::mt19937_64 rng(1);
  for (auto& b : data) b = std::byte(rng() | 1);
  EXPECT_TRUE(src->Write(0, data).ok());
  return src;
}

// The simulator over `history` as its warm-up, one event long after the copy.
SimResult SimulateAfter(const std::vector<IoEvent>& history, Policy policy, std::vector<Range>* ops,
                        const std::string& predictor = "none") {
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
  EXPECT_TRUE(sc.ok());
  EXPECT_EQ(sc->warmup_events, history.size());
  SimOptions so;
  so.on_copy = [ops](const Range& r) { ops->push_back(r); };
  so.predictor = predictor;
  return Simulate(events, *sc, policy, so);
}

TEST(EquivalenceTest, EngineAndSimulatorIssueTheSameCopies) {
  for (Policy policy : {Policy::kAdaptive, Policy::kHeat, Policy::kDmClone, Policy::kQemuStream}) {
    SCOPED_TRACE(PolicyName(policy));
    std::vector<IoEvent> history = History();

    // The engine: history as --trace, one copy at a time, fixed cold chunk size.
    auto src = Source();
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

    // The simulator: the same events as the warm-up.
    std::vector<Range> sim_ops;
    ASSERT_TRUE(SimulateAfter(history, policy, &sim_ops).completed);

    // The same granules in the same order. (Chunk lengths may differ: the link
    // controller limits a chunk to half its budget, which follows the link each one
    // measures, and a slow build's memory volume is no infinite link.)
    ASSERT_EQ(Granules(engine_ops), Granules(sim_ops));
    // And the history did change the order for the heat policies.
    if (policy == Policy::kAdaptive || policy == Policy::kHeat) {
      EXPECT_NE(engine_ops.front().offset, 0u);
    }
  }
}

TEST(EquivalenceTest, WithAPredictorTheBulkCopyTheLiveCopyAndTheSimulatorAgree) {
  // A history whose last stretch is a sequential read: stride predicts its continuation,
  // which all three queue first through the one prediction path, with the same
  // granules counted as predicted. The bulk copy runs four threads, the live one its
  // own predictor thread; one copy in flight keeps the order deterministic.
  std::vector<IoEvent> history = History();
  for (int i = 0; i < 64; ++i) {
    IoEvent e;
    e.time = seconds(989) + milliseconds(i);
    e.offset = (20ull << 20) + static_cast<uint64_t>(i) * kG;
    e.length = kG;
    e.op = IoOp::kRead;
    history.push_back(e);
  }
  MigrateOptions mo;
  mo.threads = 4;
  mo.max_in_flight = 1;
  mo.adapt_chunk_size = false;
  mo.history = &history;

  auto stride = [] {
    auto p = MakePredictor("stride");
    EXPECT_TRUE(p.ok());
    return std::shared_ptr<Predictor>(std::move(*p));
  };
  std::vector<Range> bulk_ops;
  std::shared_ptr<Predictor> bulk_predictor = stride();
  MigrateOptions bo = mo;
  bo.predictor = bulk_predictor.get();
  bo.on_copy = [&](const Range& r) { bulk_ops.push_back(r); };
  auto bulk = Migrate(*Source(), *NewMemoryVolume("dst", kVolume), nullptr, bo);
  ASSERT_TRUE(bulk.ok());

  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::vector<Range> live_ops;
  MigrateOptions lo = mo;
  lo.on_copy = [&](const Range& r) {
    std::lock_guard<std::mutex> lock(mu);
    live_ops.push_back(r);
  };
  // Live, the predictor learns the history on its own thread once the export is up,
  // while the copy follows the heat; held paused until it has, the live copy makes the
  // same decisions as the other two.
  lo.start_paused = true;
  SyncPointCounter points;
  auto live = LiveMigration::Start(Source(), NewMemoryVolume("dst", kVolume), nullptr, stride(), lo, [&] {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
    cv.notify_all();
  });
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  ASSERT_TRUE(points.WaitFor("Migration::TeachHistory:learnt", 1));
  EXPECT_FALSE((*live)->stats().learning_history);
  EXPECT_TRUE(live_ops.empty()) << "a copy started while paused";
  (*live)->Pause(false);
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, seconds(60), [&] { return done; }));
  }
  const LiveStats live_stats = (*live)->stats();
  ASSERT_TRUE((*live)->Stop().ok());

  std::vector<Range> sim_ops;
  const SimResult sim = SimulateAfter(history, Policy::kAdaptive, &sim_ops, "stride");
  ASSERT_TRUE(sim.completed);

  EXPECT_GT(bulk->predicted_granules, 0u);
  EXPECT_EQ(bulk->predicted_granules * kG, sim.predicted_bytes);
  EXPECT_EQ(live_stats.predicted_bytes, sim.predicted_bytes);
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(Granules(bulk_ops), Granules(sim_ops));
  ASSERT_EQ(Granules(live_ops), Granules(sim_ops));
  // The continuation went first: the granule after the sequential read's last.
  EXPECT_EQ(sim_ops.front().offset, (20ull << 20) + 64 * kG);
}

}  // namespace
}  // namespace ferry
