// Predictor factory and PredictionTracker (see predictor.h).
#include "predict/predictor.h"

#include <algorithm>

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

// The members of a '+' ensemble ("ensemble": all three); empty when `name` is none.
std::vector<std::string> Members(const std::string& name) {
  if (name == "ensemble") return LstmBuilt() ? std::vector<std::string>{"stride", "markov", "lstm"}
                                             : std::vector<std::string>{"stride", "markov"};
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    const size_t plus = name.find('+', start);
    parts.push_back(name.substr(start, plus - start));
    if (plus == std::string::npos) break;
    start = plus + 1;
  }
  if (parts.size() < 2) return {};
  std::vector<std::string> seen;
  for (const std::string& p : parts) {
    const bool member = p == "stride" || p == "markov" || (p == "lstm" && LstmBuilt());
    if (!member || std::find(seen.begin(), seen.end(), p) != seen.end()) return {};
    seen.push_back(p);
  }
  return parts;
}

Result<std::unique_ptr<Predictor>> MakeLstm(const PredictorConfig& c) {
  LstmOptions o;
  o.granule_size = c.granule_size;
  o.background = c.background_training;
  o.cancel = c.cancel;
  return c.model.empty() ? NewLstmPredictor(o) : LoadLstmPredictor(c.model, o);
}

}  // namespace

bool IsPredictorName(const std::string& name) {
  const auto& names = PredictorNames();
  return std::find(names.begin(), names.end(), name) != names.end() || !Members(name).empty();
}

bool PredictorHasLstm(const std::string& name) {
  if (name == "lstm" || name == "ensemble") return true;  // without LibTorch: MakeLstm's error
  const std::vector<std::string> m = Members(name);
  return std::find(m.begin(), m.end(), "lstm") != m.end();
}

Result<std::unique_ptr<Predictor>> MakePredictor(const std::string& name, const PredictorConfig& config) {
  if (!config.model.empty() && !PredictorHasLstm(name)) {
    return InvalidArgument("--model is an LSTM model: it needs --predictor lstm or ensemble, not " + name);
  }
  if (name == "none") return std::unique_ptr<Predictor>();
  if (name == "stride") return std::unique_ptr<Predictor>(new StridePredictor());
  if (name == "markov") return std::unique_ptr<Predictor>(new MarkovPredictor());
  if (name == "lstm") return MakeLstm(config);
  std::vector<std::string> names = Members(name);
  if (name == "ensemble" && !config.model.empty() && !LstmBuilt()) names.push_back("lstm");  // MakeLstm's error
  if (names.empty()) return InvalidArgument("unknown predictor '" + name + "': use " + kPredictorChoices);
  std::vector<std::unique_ptr<Predictor>> members;
  for (const std::string& m : names) {
    auto p = m == "lstm" ? MakeLstm(config) : MakePredictor(m);
    if (!p.ok()) return p.status();
    members.push_back(std::move(p).value());
  }
  return std::unique_ptr<Predictor>(new EnsemblePredictor(std::move(members)));
}

Status CheckPredictor(const std::string& name, const PredictorConfig& config) {
  if (LstmBuilt() && PredictorHasLstm(name) && config.model.empty() && IsPredictorName(name)) {
    return FindLstmLibrary();
  }
  auto p = MakePredictor(name, config);  // cheap, or a model the user named, which is checked in full
  return p.ok() ? OkStatus() : p.status();
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
