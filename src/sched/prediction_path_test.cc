#include "sched/prediction_path.h"

#include <gtest/gtest.h>

namespace ferry {
namespace {

constexpr uint64_t kG = 64 << 10;

SchedulerOptions Opts() {
  SchedulerOptions o;
  o.policy = Policy::kAdaptive;
  o.adapt_chunk_size = false;
  return o;
}

// A predictor that always predicts the granules it is told to.
class FixedPredictor : public Predictor {
 public:
  const char* name() const override { return "fixed"; }
  void Observe(uint64_t, uint64_t, IoOp, std::vector<Prediction>* out) override {
    ++observed;
    for (const Prediction& p : next) out->push_back(p);
  }
  std::vector<Prediction> next;
  int observed = 0;
};

TEST(PredictionPathTest, StallsAreFirstTouchesOrSeenAndSumToTheStalls) {
  ChunkMap map(16 * kG, kG);
  Scheduler sched(map, Opts(), Scheduler::Time{0});
  PredictionPath path(map, sched, nullptr);
  path.ObserveHistory(2, 3, IoOp::kRead);  // the history touched granules 2 and 3
  path.EndHistory();
  map.Set({GranuleIndex(5), 1}, GranuleState::kPresent);
  EXPECT_TRUE(path.OnAccess(2, 2, IoOp::kRead));   // seen in the history, missing
  EXPECT_TRUE(path.OnAccess(7, 7, IoOp::kRead));   // never touched: a first touch
  EXPECT_TRUE(path.OnAccess(7, 7, IoOp::kRead));   // touched by the read before: seen
  EXPECT_FALSE(path.OnAccess(5, 5, IoOp::kRead));  // present: no stall
  EXPECT_FALSE(path.OnAccess(9, 9, IoOp::kWrite)); // writes are not read stalls
  EXPECT_TRUE(path.OnAccess(9, 10, IoOp::kRead));  // 9 was written (seen): seen
  const PredictionFigures f = path.figures();
  EXPECT_EQ(f.reads, 5u);
  EXPECT_EQ(f.read_stalls, 4u);
  EXPECT_EQ(f.read_stalls_first_touch, 1u);
  EXPECT_EQ(f.read_stalls_seen, 3u);
  EXPECT_EQ(f.read_stalls_first_touch + f.read_stalls_seen, f.read_stalls);
  EXPECT_EQ(f.prevented_stalls, 0u);
}

TEST(PredictionPathTest, OnlyMissingGranulesArePredictedAndCounted) {
  ChunkMap map(16 * kG, kG);
  Scheduler sched(map, Opts(), Scheduler::Time{0});
  FixedPredictor p;
  PredictionPath path(map, sched, &p);
  map.Set({GranuleIndex(4), 2}, GranuleState::kPresent);  // 4 and 5 present
  std::vector<Prediction> out;
  p.next = {{3, 4, 0.9, 1}};  // granules 3..6: 3 and 6 missing
  path.Infer(0, 0, IoOp::kRead, {}, &out);
  EXPECT_EQ(p.observed, 1);
  EXPECT_EQ(path.Queue(out), 2u);
  EXPECT_EQ(path.Queue(out), 0u);  // predicted again: counted once
  EXPECT_EQ(sched.prefetch_queued(), 4u);  // two runs, twice
  std::vector<Prediction> present = {{4, 2, 0.9, 1}};
  EXPECT_EQ(path.Queue(present), 0u);
  EXPECT_EQ(sched.prefetch_queued(), 4u);  // nothing to copy: nothing queued
  EXPECT_EQ(path.figures().predicted_granules, 2u);
}

TEST(PredictionPathTest, AReadOfWhatAPredictionBroughtIsAPreventedStall) {
  ChunkMap map(16 * kG, kG);
  Scheduler sched(map, Opts(), Scheduler::Time{0});
  FixedPredictor p;
  PredictionPath path(map, sched, &p);
  std::vector<Prediction> out = {{8, 1, 0.9, 1}};
  ASSERT_EQ(path.Queue(out), 1u);
  auto op = sched.Next(Scheduler::Time{0});
  ASSERT_TRUE(op.has_value());
  ASSERT_TRUE(op->predicted);
  ASSERT_LE(op->run.first.value, 8u);
  sched.OnCopyDone(*op, true, Scheduler::Time{1});
  path.OnCopied(*op);
  EXPECT_EQ(path.figures().wasted_granules, 1u);  // copied, not read yet
  EXPECT_FALSE(path.OnAccess(8, 8, IoOp::kRead));
  EXPECT_FALSE(path.OnAccess(8, 8, IoOp::kRead));  // the second read is no prevented stall
  const PredictionFigures f = path.figures();
  EXPECT_EQ(f.prevented_stalls, 1u);
  EXPECT_EQ(f.read_stalls, 0u);
  EXPECT_EQ(f.wasted_granules, 0u);
  EXPECT_DOUBLE_EQ(f.precision, 1.0);
  EXPECT_DOUBLE_EQ(f.timeliness, 1.0);
}

// Records the outcomes it is told of.
class ListeningPredictor : public FixedPredictor {
 public:
  void Outcome(const PredictionOutcome& o) override { told.push_back(o); }
  std::vector<PredictionOutcome> told;
};

TEST(PredictionPathTest, TheAccessThatSettlesAPredictionToldThePredictorWhetherItPrevented) {
  ChunkMap map(16 * kG, kG);
  Scheduler sched(map, Opts(), Scheduler::Time{0});
  ListeningPredictor p;
  PredictionPath path(map, sched, &p);
  std::vector<Prediction> out = {{3, 1, 0.9, 1}, {8, 1, 0.9, 1}, {12, 1, 0.9, 1}};
  ASSERT_EQ(path.Queue(out), 3u);
  // Granule 3's predicted copy lands; 12 is written whole meanwhile; 8 is never copied.
  auto op = sched.Next(Scheduler::Time{0});
  ASSERT_TRUE(op.has_value() && op->predicted);
  ASSERT_EQ(op->run.first.value, 3u);
  ASSERT_EQ(op->run.count, 1u);
  sched.OnCopyDone(*op, true, Scheduler::Time{1});
  path.OnCopied(*op);
  sched.MarkWritten({GranuleIndex(12), 1});
  std::vector<PredictionOutcome> outcomes;
  path.OnAccess(3, 3, IoOp::kRead, &outcomes);    // prevented
  path.OnAccess(8, 8, IoOp::kRead, &outcomes);    // late: still missing
  path.OnAccess(12, 12, IoOp::kRead, &outcomes);  // present through a write: no outcome
  path.OnAccess(3, 3, IoOp::kRead, &outcomes);    // settled already
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[0].granule, 3u);
  EXPECT_TRUE(outcomes[0].prevented);
  EXPECT_EQ(outcomes[1].granule, 8u);
  EXPECT_FALSE(outcomes[1].prevented);
  // Infer tells the predictor before it observes.
  std::vector<Prediction> next;
  path.Infer(3, 3, IoOp::kRead, outcomes, &next);
  ASSERT_EQ(p.told.size(), 2u);
  EXPECT_EQ(p.observed, 1);
}

}  // namespace
}  // namespace ferry
