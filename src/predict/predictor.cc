// Predictor factory and PredictionTracker (see predictor.h).
#include "predict/predictor.h"

#include "predict/ensemble.h"
#include "predict/markov.h"
#include "predict/stride.h"

namespace ferry {

Result<std::unique_ptr<Predictor>> MakePredictor(const std::string& name) {
  if (name == "none") return std::unique_ptr<Predictor>();
  if (name == "stride") return std::unique_ptr<Predictor>(new StridePredictor());
  if (name == "markov") return std::unique_ptr<Predictor>(new MarkovPredictor());
  if (name == "ensemble") {
    std::vector<std::unique_ptr<Predictor>> members;
    members.emplace_back(new StridePredictor());
    members.emplace_back(new MarkovPredictor());
    return std::unique_ptr<Predictor>(new EnsemblePredictor(std::move(members)));
  }
  return InvalidArgument("unknown predictor '" + name + "': use none, stride, markov or ensemble");
}

void PredictionTracker::Predicted(uint64_t granule) {
  if (outstanding_.emplace(granule, true).second) ++predicted_;
}

void PredictionTracker::Accessed(uint64_t granule, bool present) {
  ++accesses_;
  auto it = outstanding_.find(granule);
  if (it == outstanding_.end()) return;
  ++hits_;
  timely_ += present;
  outstanding_.erase(it);
}

}  // namespace ferry
