// EnsemblePredictor: multiplicative weights over other predictors by their measured
// precision (DESIGN.md "Prediction"; after Littlestone and Warmuth's weighted majority).
// Each member's predictions are remembered for `horizon` accesses: a prediction
// accessed in that time multiplies the member's weight by (1 + eta), one that expires
// unused by (1 - eta); weights stay within [floor, 1]. The members are not rivals for
// one answer but cover different patterns (stride the sequential runs, Markov the
// repeats, the LSTM longer contexts), so the weights are not normalised against each
// other: a member is heard while its own weight is at least `min_weight`, which holds
// while its precision is above about 53% (eta 0.1), and then at its own likelihoods
// (the weight gates; it does not rank). A member that keeps guessing wrong falls silent
// however few or many predictions the others make, and recovers when it is right again
// (docs/design-notes.md).
#pragma once

#include <deque>
#include <memory>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "predict/predictor.h"

namespace ferry {

struct EnsembleOptions {
  double eta = 0.1;
  int horizon = 1024;      // accesses a prediction stays open (MSR server workloads revisit after hundreds)
  double min_weight = 0.25;  // for a member to be heard
  double floor = 1e-3;       // the least weight: a silenced member can recover
};

class EnsemblePredictor : public Predictor {
 public:
  EnsemblePredictor(std::vector<std::unique_ptr<Predictor>> members, const EnsembleOptions& options = {});
  const char* name() const override { return "ensemble"; }
  void Observe(uint64_t first, uint64_t last, IoOp op, std::vector<Prediction>* out) override;
  void Train() override;
  // A member whose prediction of the granule is open, and is heard, is judged by it:
  // its weight grows when the prediction prevented a wait; a late one (the access came
  // first) moves it neither way, since the data was needed and its copy was on its
  // way. Once outcomes come, a heard member's hits count for nothing by themselves, so
  // its weight rises by waits prevented and falls by predictions that expire unused;
  // an unheard member's hits raise its weight a tenth as fast as before.
  void Outcome(const PredictionOutcome& outcome) override;
  double train_cpu_s() const override;
  // The members' weights, in member order.
  std::vector<double> weights() const;

 private:
  struct Member {
    std::unique_ptr<Predictor> p;
    double weight = 1;
    absl::flat_hash_map<uint64_t, uint64_t> open;    // granule -> clock when predicted
    std::deque<std::pair<uint64_t, uint64_t>> order;  // (clock, granule), oldest first
  };
  EnsembleOptions o_;
  std::vector<Member> members_;
  std::vector<Prediction> scratch_;
  uint64_t clock_ = 0;
  bool judged_ = false;  // an Outcome came: heard members are judged by outcomes
};

}  // namespace ferry
