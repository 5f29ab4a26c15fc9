// Predictor factory and PredictionTracker (see predictor.h).
#include "predict/predictor.h"

#include "predict/ensemble.h"
#include "predict/lstm.h"
#include "predict/markov.h"
#include "predict/stride.h"

namespace ferry {

const std::vector<std::string>& PredictorNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> all = {"none", "stride", "markov", "lstm", "ensemble"};
    if (!LstmBuilt()) std::erase(all, "lstm");
    return all;
  }();
  return names;
}

namespace {

Result<std::unique_ptr<Predictor>> MakeLstm(const PredictorConfig& c) {
  LstmOptions o;
  o.granule_size = c.granule_size;
  o.background = c.background_training;
  return c.model.empty() ? NewLstmPredictor(o) : LoadLstmPredictor(c.model, o);
}

}  // namespace

Result<std::unique_ptr<Predictor>> MakePredictor(const std::string& name, const PredictorConfig& config) {
  if (!config.model.empty() && name != "lstm" && name != "ensemble") {
    return InvalidArgument("--model is an LSTM model: it needs --predictor lstm or ensemble, not " + name);
  }
  if (name == "none") return std::unique_ptr<Predictor>();
  if (name == "stride") return std::unique_ptr<Predictor>(new StridePredictor());
  if (name == "markov") return std::unique_ptr<Predictor>(new MarkovPredictor());
  if (name == "lstm") return MakeLstm(config);
  if (name == "ensemble") {
    std::vector<std::unique_ptr<Predictor>> members;
    members.emplace_back(new StridePredictor());
    members.emplace_back(new MarkovPredictor());
    if (LstmBuilt() || !config.model.empty()) {  // a model without the LSTM: its error
      auto lstm = MakeLstm(config);
      if (!lstm.ok()) return lstm.status();
      members.push_back(std::move(lstm).value());
    }
    return std::unique_ptr<Predictor>(new EnsemblePredictor(std::move(members)));
  }
  return InvalidArgument("unknown predictor '" + name + "': use none, stride, markov, lstm or ensemble");
}

void PredictionTracker::Predicted(uint64_t granule) {
  if (outstanding_.insert(granule).second) ++predicted_;
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
