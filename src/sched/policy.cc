// Policy names (ferry/policy.h).
#include "ferry/policy.h"

#include <algorithm>

#include "predict/predictor.h"

namespace ferry {

const char* PolicyName(Policy p) {
  switch (p) {
    case Policy::kDmClone: return "dmclone";
    case Policy::kQemuStream: return "qemu-stream";
    case Policy::kHeat: return "heat";
    case Policy::kAdaptive: return "adaptive";
    case Policy::kClairvoyant: return "clairvoyant";
  }
  return "?";
}

constexpr Policy kPolicies[] = {Policy::kDmClone, Policy::kQemuStream, Policy::kHeat, Policy::kAdaptive,
                                 Policy::kClairvoyant};

Result<Policy> ParsePolicy(const std::string& name) {
  for (Policy p : kPolicies) {
    if (name == PolicyName(p)) return p;
  }
  return InvalidArgument("unknown policy '" + name + "': use dmclone, qemu-stream, heat, adaptive or clairvoyant");
}

Result<std::vector<Policy>> ParsePolicies(const std::string& name) {
  if (name == "all") return std::vector<Policy>(std::begin(kPolicies), std::end(kPolicies));
  auto p = ParsePolicy(name);
  if (!p.ok()) return InvalidArgument(p.status().message() + " (or all)");
  return std::vector<Policy>{*p};
}

bool PolicyTakesPredictions(Policy policy) { return policy == Policy::kAdaptive || policy == Policy::kHeat; }

Result<PolicyChoice> ChoosePolicy(const std::string& policy, const std::string& predictor, const std::string& model,
                                  PolicyUse use, bool has_history) {
  FERRY_ASSIGN_OR_RETURN(Policy p, ParsePolicy(policy));
  if (p == Policy::kClairvoyant && use != PolicyUse::kSimulate) {
    return InvalidArgument("policy clairvoyant copies in the order of the accesses to come, which only a simulation "
                           "knows: use adaptive (the default), heat, dmclone or qemu-stream");
  }
  if (!predictor.empty() && !IsPredictorName(predictor)) {
    return InvalidArgument("unknown predictor '" + predictor + "': use " + kPredictorChoices);
  }
  PolicyChoice c{p, predictor, model};
  if (predictor.empty()) {
    c.predictor = model.empty() && use == PolicyUse::kServe && PolicyTakesPredictions(p) ? kServePredictor : "none";
  }
  if (!model.empty()) {  // a model alone means the LSTM
    if (c.predictor == "none") c.predictor = "lstm";
    if (!PredictorHasLstm(c.predictor)) {
      return InvalidArgument("--model is an LSTM model: it needs --predictor lstm or ensemble, not " + c.predictor);
    }
  }
  if (c.predictor != "none" && !PolicyTakesPredictions(p)) {
    return InvalidArgument("predictor " + c.predictor + " works with policy adaptive or heat, not " + policy +
                           " (" + policy + " models a system that does not predict)");
  }
  if (c.predictor != "none" && use == PolicyUse::kMigrate && !has_history) {
    return InvalidArgument("--predictor and --model predict from the workload's history: give --history TRACE");
  }
  return c;
}

Result<std::vector<PolicyChoice>> SimulationRuns(const std::string& policy, const std::string& predictor,
                                                 const std::string& model) {
  FERRY_ASSIGN_OR_RETURN(std::vector<Policy> policies, ParsePolicies(policy));
  const std::vector<std::string> predictors = predictor == "all" ? PredictorNames() : std::vector{predictor};
  std::vector<PolicyChoice> runs;
  for (Policy p : policies) {
    if (!PolicyTakesPredictions(p)) {
      // Checked all the same: a predictor or a model named for a baseline alone is an error.
      if (predictor != "all" && policy != "all") {
        FERRY_RETURN_IF_ERROR(ChoosePolicy(policy, predictor, model, PolicyUse::kSimulate, true).status());
      }
      runs.push_back({p, "none"});
      continue;
    }
    for (const std::string& name : predictors) {
      const bool takes_model = predictor != "all" || PredictorHasLstm(name);
      FERRY_ASSIGN_OR_RETURN(PolicyChoice c, ChoosePolicy(PolicyName(p), name, takes_model ? model : "",
                                                          PolicyUse::kSimulate, true));
      runs.push_back(c);
    }
  }
  return runs;
}

}  // namespace ferry
