// EnsemblePredictor: multiplicative weights over other predictors by their measured
// precision (DESIGN.md "Prediction"; Littlestone and Warmuth's weighted majority). Each
// member's predictions are remembered for `horizon` accesses: a prediction accessed in
// that time multiplies the member's weight by (1 + eta), one that expires unused by
// (1 - eta). The ensemble passes on the predictions of members whose share of the total
// weight is at least `min_share`, with likelihood scaled by that share, so a member
// that keeps guessing wrong falls silent while a right one speaks.
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
  double min_share = 0.2;  // of the total weight, for a member to be heard
};

class EnsemblePredictor : public Predictor {
 public:
  EnsemblePredictor(std::vector<std::unique_ptr<Predictor>> members, const EnsembleOptions& options = {});
  const char* name() const override { return "ensemble"; }
  void Observe(uint64_t first, uint64_t last, IoOp op, std::vector<Prediction>* out) override;
  // The members' weights, normalised to sum to 1, in member order.
  std::vector<double> shares() const;

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
};

}  // namespace ferry
