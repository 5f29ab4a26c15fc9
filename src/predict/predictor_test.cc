#include "predict/predictor.h"

#include <gtest/gtest.h>

#include <random>

#include "predict/ensemble.h"
#include "predict/markov.h"
#include "predict/stride.h"

namespace ferry {
namespace {

// Feeds single-granule accesses; returns the tracker's view.
PredictionTracker Replay(Predictor& p, const std::vector<uint64_t>& accesses) {
  PredictionTracker t;
  std::vector<Prediction> out;
  for (uint64_t g : accesses) {
    t.Accessed(g, false);
    out.clear();
    p.Observe(g, g, IoOp::kRead, &out);
    for (const Prediction& pr : out) {
      for (uint64_t k = 0; k < pr.count; ++k) t.Predicted(pr.granule + k);
    }
  }
  return t;
}

std::vector<uint64_t> RandomAccesses(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> v;
  for (int i = 0; i < n; ++i) v.push_back(rng() % (1ull << 30));
  return v;
}

TEST(StrideTest, LearnsAPureStride) {
  std::vector<uint64_t> a;
  for (uint64_t i = 0; i < 1000; ++i) a.push_back(5000 + 3 * i);
  StridePredictor p;
  PredictionTracker t = Replay(p, a);
  EXPECT_GT(t.precision(), 0.95);
  EXPECT_GT(t.recall(), 0.95);
}

TEST(StrideTest, FollowsInterleavedStreams) {
  std::vector<uint64_t> a;
  for (uint64_t i = 0; i < 1000; ++i) {
    a.push_back(1000 + i);          // a sequential reader
    a.push_back(1000000 + 4 * i);   // a strided one far away
    a.push_back(9000000 - 2 * i);   // a backward one
  }
  StridePredictor p;
  PredictionTracker t = Replay(p, a);
  EXPECT_GT(t.precision(), 0.9);
  EXPECT_GT(t.recall(), 0.9);
}

TEST(StrideTest, KeepsASlowReaderAmongScatteredWrites) {
  // The hadoop trace's shape: 128 KiB reads (two granules) between hundreds of
  // scattered writes. Streams are per kind, and a trendless stream is replaced first,
  // so the reader keeps its stream; its stride is two granules, first to first.
  std::mt19937_64 rng(7);
  StridePredictor p;
  std::vector<Prediction> out;
  std::vector<uint64_t> predicted;
  int hits = 0;
  for (uint64_t i = 0; i < 200; ++i) {
    for (int w = 0; w < 300; ++w) {
      const uint64_t g = rng() % (1ull << 30);
      out.clear();
      p.Observe(g, g, IoOp::kWrite, &out);
    }
    const uint64_t first = 5000000 + 2 * i;
    hits += std::find(predicted.begin(), predicted.end(), first) != predicted.end();
    out.clear();
    p.Observe(first, first + 1, IoOp::kRead, &out);
    predicted.clear();
    for (const Prediction& pr : out) predicted.push_back(pr.granule);
  }
  EXPECT_GT(hits, 190);
}

TEST(StrideTest, StaysQuietOnARandomStream) {
  StridePredictor p;
  PredictionTracker t = Replay(p, RandomAccesses(5000, 1));
  EXPECT_LT(t.predicted(), 50u);  // under 1% of accesses lead to a prediction
}

TEST(MarkovTest, LearnsARepeatingSequenceThatStrideCannot) {
  const std::vector<uint64_t> cycle = {17, 5, 900, 42, 3, 77777, 12, 640};
  std::vector<uint64_t> a;
  for (int r = 0; r < 50; ++r) a.insert(a.end(), cycle.begin(), cycle.end());
  MarkovPredictor m;
  PredictionTracker tm = Replay(m, a);
  EXPECT_GT(tm.precision(), 0.95);
  EXPECT_GT(tm.recall(), 0.9);
  StridePredictor s;
  PredictionTracker ts = Replay(s, a);
  EXPECT_LT(ts.recall(), 0.1);
}

TEST(MarkovTest, StaysQuietOnARandomStreamAndBoundsItsMemory) {
  MarkovOptions o;
  o.max_chunks = 1000;
  MarkovPredictor m(o);
  PredictionTracker t = Replay(m, RandomAccesses(20000, 2));
  EXPECT_LT(t.predicted(), 20u);
  EXPECT_LE(m.chunks(), 1001u);
}

std::unique_ptr<EnsemblePredictor> Ensemble() {
  std::vector<std::unique_ptr<Predictor>> m;
  m.emplace_back(new StridePredictor());
  m.emplace_back(new MarkovPredictor());
  return std::make_unique<EnsemblePredictor>(std::move(m));
}

TEST(EnsembleTest, FollowsWhicheverMemberIsRight) {
  std::vector<uint64_t> stride;
  for (uint64_t i = 0; i < 2000; ++i) stride.push_back(5000 + 3 * i);
  auto e = Ensemble();
  PredictionTracker ts = Replay(*e, stride);
  EXPECT_GT(ts.precision(), 0.9);
  EXPECT_GT(ts.recall(), 0.9);

  const std::vector<uint64_t> cycle = {17, 5, 900, 42, 3, 77777, 12, 640};
  std::vector<uint64_t> rep;
  for (int r = 0; r < 200; ++r) rep.insert(rep.end(), cycle.begin(), cycle.end());
  auto e2 = Ensemble();
  PredictionTracker tm = Replay(*e2, rep);
  EXPECT_GT(tm.recall(), 0.8);
  EXPECT_GT(tm.precision(), 0.8);
  EXPECT_GT(e2->shares()[1], e2->shares()[0]);  // markov earned the weight
}

TEST(EnsembleTest, StaysQuietOnARandomStream) {
  auto e = Ensemble();
  PredictionTracker t = Replay(*e, RandomAccesses(5000, 3));
  EXPECT_LT(t.predicted(), 50u);
}

TEST(PredictionTrackerTest, CountsPrecisionRecallAndTimeliness) {
  PredictionTracker t;
  t.Predicted(1);
  t.Predicted(2);
  t.Predicted(2);  // counted once
  t.Predicted(3);
  t.Accessed(1, true);
  t.Accessed(2, false);
  t.Accessed(9, false);
  t.Accessed(10, false);
  EXPECT_EQ(t.predicted(), 3u);
  EXPECT_EQ(t.hits(), 2u);
  EXPECT_DOUBLE_EQ(t.precision(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(t.recall(), 0.5);
  EXPECT_DOUBLE_EQ(t.timeliness(), 0.5);
}

TEST(MakePredictorTest, NamesAreChecked) {
  EXPECT_EQ(MakePredictor("none").value(), nullptr);
  EXPECT_STREQ(MakePredictor("stride").value()->name(), "stride");
  EXPECT_STREQ(MakePredictor("markov").value()->name(), "markov");
  EXPECT_STREQ(MakePredictor("ensemble").value()->name(), "ensemble");
  EXPECT_FALSE(MakePredictor("oracle").ok());
}

}  // namespace
}  // namespace ferry
