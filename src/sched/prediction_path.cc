// PredictionPath (see prediction_path.h).
#include "sched/prediction_path.h"

#include <algorithm>

namespace ferry {

PredictionPath::PredictionPath(const ChunkMap& map, Scheduler& sched, Predictor* predictor)
    : map_(map), sched_(sched), predictor_(predictor), seen_(map.granule_count(), false) {}

void PredictionPath::SeeHistory(uint64_t first, uint64_t last) {
  last = std::min(last, map_.granule_count() - 1);
  for (uint64_t g = first; g <= last; ++g) seen_[g] = true;
}

void PredictionPath::TeachHistory(uint64_t first, uint64_t last, IoOp op) {
  if (!predictor_) return;
  history_answer_.clear();
  predictor_->Observe(first, std::min(last, map_.granule_count() - 1), op, &history_answer_);
}

PredictionPath::Continuation PredictionPath::PredictContinuation() {
  Continuation c;
  if (!predictor_) return c;
  predictor_->Train();
  double likelihood = 1;
  std::vector<Prediction> out = std::move(history_answer_);
  history_answer_.clear();
  for (int step = 0; step < kContinuationSteps && !out.empty(); ++step) {
    const Prediction next = out.front();
    c.steps.push_back({std::move(out), likelihood});
    likelihood *= next.likelihood;
    out.clear();
    Infer(next.granule, next.granule + next.count - 1, IoOp::kRead, {}, &out);
  }
  return c;
}

uint64_t PredictionPath::QueueContinuation(const Continuation& c) {
  uint64_t queued = 0;
  for (size_t step = 0; step < c.steps.size(); ++step) {
    queued += Queue(c.steps[step].predictions, c.steps[step].likelihood, static_cast<uint32_t>(step));
  }
  return queued;
}

bool PredictionPath::OnAccess(uint64_t first, uint64_t last, IoOp op, std::vector<PredictionOutcome>* outcomes,
                              bool kept) {
  last = std::min(last, map_.granule_count() - 1);
  bool stalls = false, first_touch = true, prevented = false;
  for (uint64_t g = first; g <= last; ++g) {
    const bool present = map_.state(GranuleIndex(g)) == GranuleState::kPresent;
    if (!present) {
      stalls = true;
      if (seen_[g]) first_touch = false;
    } else if (prefetched_.contains(g)) {
      prevented = true;
    }
    // A prediction the access settles (present through another copy: neither).
    if (outcomes && tracker_.outstanding(g) && (!present || prefetched_.contains(g))) {
      outcomes->push_back({g, present});
    }
    tracker_.Accessed(g, present);
    prefetched_.erase(g);
    seen_[g] = true;
  }
  if (op != IoOp::kRead) return false;
  ++counts_.reads;
  if (stalls && kept) {
    ++counts_.reads_kept;
    return false;
  }
  if (stalls) {
    ++counts_.read_stalls;
    ++(first_touch ? counts_.read_stalls_first_touch : counts_.read_stalls_seen);
  } else if (prevented) {
    ++counts_.prevented_stalls;
  }
  return stalls;
}

void PredictionPath::Infer(uint64_t first, uint64_t last, IoOp op, std::span<const PredictionOutcome> outcomes,
                           std::vector<Prediction>* out) {
  if (!predictor_) return;
  for (const PredictionOutcome& o : outcomes) predictor_->Outcome(o);
  predictor_->Observe(first, last, op, out);
}

uint64_t PredictionPath::Queue(std::span<const Prediction> predictions, double weight, uint32_t ahead) {
  const uint64_t n = map_.granule_count();
  uint64_t added = 0;
  for (const Prediction& p : predictions) {
    if (p.granule >= n) continue;
    const uint64_t end = p.granule + std::min(p.count, n - p.granule);
    // Only the missing granules of the prediction, in runs: present data needs no copy,
    // and one in flight is coming.
    uint64_t g = p.granule;
    while (g < end) {
      auto run = map_.NextMissing(GranuleIndex(g), end - g, end);
      if (!run || run->first.value >= end) break;
      for (uint64_t k = run->first.value; k < run->first.value + run->count; ++k) {
        const uint64_t before = tracker_.predicted();
        tracker_.Predicted(k);
        added += tracker_.predicted() - before;
      }
      sched_.Prefetch(*run, weight * p.likelihood, p.ahead + ahead);
      g = run->first.value + run->count;
    }
  }
  return added;
}

void PredictionPath::OnCopied(const CopyOp& op) {
  if (!op.predicted) return;
  for (uint64_t g = op.run.first.value; g < op.run.first.value + op.run.count; ++g) {
    if (tracker_.outstanding(g)) prefetched_.insert(g);
  }
}

PredictionFigures PredictionPath::figures() const {
  PredictionFigures f = counts_;
  f.predicted_granules = tracker_.predicted();
  f.wasted_granules = prefetched_.size();
  f.precision = tracker_.precision();
  f.recall = tracker_.recall();
  f.timeliness = tracker_.timeliness();
  return f;
}

}  // namespace ferry
