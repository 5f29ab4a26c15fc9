// ferry/policy.h: the copy policies a migration or a simulation can run
// (DESIGN.md "Evaluation"; src/sched/scheduler.h has what each does).
#pragma once

#include <string>
#include <vector>

#include "ferry/status.h"

namespace ferry {

enum class Policy { kDmClone, kQemuStream, kHeat, kAdaptive, kClairvoyant };
// "dmclone", "qemu-stream", "heat", "adaptive", "clairvoyant".
const char* PolicyName(Policy p);
Result<Policy> ParsePolicy(const std::string& name);
// A policy's name, or "all" for every policy in the order above (`ferry simulate`).
Result<std::vector<Policy>> ParsePolicies(const std::string& name);

// The policy rules, in one place (the CLI, the plugin, the engine and the simulator use
// these and nothing else):
// - adaptive and heat take predictions; the baselines (dmclone, qemu-stream) model
//   systems that do not, and clairvoyant knows the future already;
// - clairvoyant needs the future: only `ferry simulate` runs it;
// - a model (--model) is an LSTM's: alone it means --predictor lstm; it goes with a
//   predictor that has an LSTM only (lstm, ensemble, a '+' ensemble with lstm);
// - a bulk migrate predicts only from a history (--history): it serves no requests to
//   learn from;
// - no predictor named (""): `ferry serve` predicts with kServePredictor, stride and
//   Markov, under a policy that takes predictions (docs/benchmarks.md: prediction
//   prevented stalls or did no harm on every trace and link measured; the LSTM added 3
//   or 4 prevented stalls in the simulator and cost live requests CPU, so it runs when
//   asked for), and with nothing otherwise; migrate and simulate predict only when
//   asked; a model alone means the LSTM.
bool PolicyTakesPredictions(Policy policy);
inline constexpr const char* kServePredictor = "stride+markov";
enum class PolicyUse { kSimulate, kServe, kMigrate };
struct PolicyChoice {
  Policy policy = Policy::kAdaptive;
  std::string predictor = "none";  // resolved: never "" (see the rules above)
  std::string model;               // the model the predictor starts from ("": none, or it takes none)
};
// Checks `policy`, `predictor` (a predictor name, "none", or "" for the default) and `model` (a path or "")
// for `use`; `has_history`: a history is given. kInvalidArgument naming what is wrong
// and what to give instead.
Result<PolicyChoice> ChoosePolicy(const std::string& policy, const std::string& predictor, const std::string& model,
                                  PolicyUse use, bool has_history);
// `ferry simulate`'s runs, in order: each policy of `policy` (a name or "all") with
// `predictor` (a name, "all" for each in turn, "" for the default); the policies that
// take no predictions run once, with none. `model` goes with the LSTM and the
// ensemble (under "all", the others run without it). Each pair checked as ChoosePolicy does.
Result<std::vector<PolicyChoice>> SimulationRuns(const std::string& policy, const std::string& predictor,
                                                 const std::string& model);

}  // namespace ferry
