// The policy rules (ferry/policy.h): which predictor each use gets, and what is refused.
#include "ferry/policy.h"

#include <gtest/gtest.h>

#include "ferry/predictor.h"

namespace ferry {
namespace {

std::string Resolved(const std::string& policy, const std::string& predictor, PolicyUse use,
                     const std::string& model = "", bool history = false) {
  auto c = ChoosePolicy(policy, predictor, model, use, history);
  return c.ok() ? c->predictor : "error: " + c.status().message();
}

TEST(ChoosePolicyTest, ServePredictsByDefaultWhereThePolicyTakesPredictions) {
  EXPECT_EQ(Resolved("adaptive", "", PolicyUse::kServe), "stride+markov");
  EXPECT_EQ(Resolved("heat", "", PolicyUse::kServe), "stride+markov");
  EXPECT_EQ(Resolved("adaptive", "ensemble", PolicyUse::kServe), "ensemble");
  EXPECT_EQ(Resolved("dmclone", "", PolicyUse::kServe), "none");
  EXPECT_EQ(Resolved("qemu-stream", "", PolicyUse::kServe), "none");
  EXPECT_EQ(Resolved("adaptive", "none", PolicyUse::kServe), "none");  // asked for nothing
  EXPECT_EQ(Resolved("adaptive", "stride", PolicyUse::kServe), "stride");
}

TEST(ChoosePolicyTest, MigrateAndSimulatePredictOnlyWhenAsked) {
  EXPECT_EQ(Resolved("adaptive", "", PolicyUse::kMigrate), "none");
  EXPECT_EQ(Resolved("adaptive", "", PolicyUse::kMigrate, "", true), "none");
  EXPECT_EQ(Resolved("adaptive", "", PolicyUse::kSimulate), "none");
  EXPECT_EQ(Resolved("adaptive", "markov", PolicyUse::kMigrate, "", true), "markov");
  EXPECT_EQ(Resolved("adaptive", "markov", PolicyUse::kMigrate), "error: --predictor and --model predict from the "
                                                                   "workload's history: give --history TRACE");
}

TEST(ChoosePolicyTest, AModelAloneMeansTheLstm) {
  EXPECT_EQ(Resolved("adaptive", "", PolicyUse::kServe, "m.pt"), "lstm");
  EXPECT_EQ(Resolved("adaptive", "none", PolicyUse::kServe, "m.pt"), "lstm");
  EXPECT_EQ(Resolved("adaptive", "ensemble", PolicyUse::kServe, "m.pt"), "ensemble");
  EXPECT_EQ(Resolved("adaptive", "stride", PolicyUse::kServe, "m.pt"),
            "error: --model is an LSTM model: it needs --predictor lstm or ensemble, not stride");
  EXPECT_EQ(Resolved("dmclone", "", PolicyUse::kServe, "m.pt"),
            "error: predictor lstm works with policy adaptive or heat, not dmclone (dmclone models a system that "
            "does not predict)");
}

TEST(ChoosePolicyTest, MembersJoinedByPlusAreAnEnsembleOfThose) {
  EXPECT_EQ(Resolved("adaptive", "markov+stride", PolicyUse::kServe), "markov+stride");
  for (const char* bad : {"stride+", "+markov", "stride+stride", "stride+oracle", "stride+ensemble", "none+stride"}) {
    EXPECT_NE(Resolved("adaptive", bad, PolicyUse::kServe).find("error: unknown predictor"), std::string::npos) << bad;
  }
  EXPECT_EQ(Resolved("adaptive", "stride+markov", PolicyUse::kServe, "m.pt"),
            "error: --model is an LSTM model: it needs --predictor lstm or ensemble, not stride+markov");
  if (IsPredictorName("lstm")) {  // built with LibTorch
    EXPECT_EQ(Resolved("adaptive", "markov+lstm", PolicyUse::kServe, "m.pt"), "markov+lstm");
  } else {
    EXPECT_NE(Resolved("adaptive", "markov+lstm", PolicyUse::kServe).find("error: unknown predictor"),
              std::string::npos);
  }
}

TEST(ChoosePolicyTest, RefusesWhatCannotRun) {
  EXPECT_EQ(Resolved("adaptive", "oracle", PolicyUse::kServe),
            "error: unknown predictor 'oracle': use none, stride, markov, lstm, ensemble, or members joined by + "
            "(stride+markov)");
  EXPECT_EQ(Resolved("dmclone", "ensemble", PolicyUse::kServe),
            "error: predictor ensemble works with policy adaptive or heat, not dmclone (dmclone models a system "
            "that does not predict)");
  EXPECT_EQ(Resolved("clairvoyant", "", PolicyUse::kSimulate), "none");
  EXPECT_NE(Resolved("clairvoyant", "", PolicyUse::kServe).find("error: policy clairvoyant"), std::string::npos);
  EXPECT_NE(Resolved("fastest", "", PolicyUse::kServe).find("error: "), std::string::npos);
}

std::string Runs(const std::string& policy, const std::string& predictor, const std::string& model = "") {
  auto r = SimulationRuns(policy, predictor, model);
  if (!r.ok()) return "error: " + r.status().message();
  std::string out;
  for (const PolicyChoice& c : *r) out += std::string(out.empty() ? "" : " ") + PolicyName(c.policy) + "/" + c.predictor;
  return out;
}

TEST(SimulationRunsTest, EachPolicyWithEachPredictorTheBaselinesOnceWithNone) {
  EXPECT_EQ(Runs("all", ""), "dmclone/none qemu-stream/none heat/none adaptive/none clairvoyant/none");
  EXPECT_EQ(Runs("all", "stride"), "dmclone/none qemu-stream/none heat/stride adaptive/stride clairvoyant/none");
  std::string all;
  for (const std::string& name : PredictorNames()) all += " adaptive/" + name;
  EXPECT_EQ(Runs("adaptive", "all"), all.substr(1));
  // A model goes with the LSTM and the ensemble; under "all" the others run without it.
  EXPECT_EQ(Runs("adaptive", "", "m.pt"), "adaptive/lstm");
  EXPECT_EQ(Runs("adaptive", "all", "m.pt"), all.substr(1));
  EXPECT_EQ(Runs("adaptive", "markov", "m.pt"),
            "error: --model is an LSTM model: it needs --predictor lstm or ensemble, not markov");
  // A predictor named for a baseline alone is refused, as in serve.
  EXPECT_EQ(Runs("dmclone", "stride"), "error: predictor stride works with policy adaptive or heat, not dmclone "
                                       "(dmclone models a system that does not predict)");
  EXPECT_EQ(Runs("dmclone", ""), "dmclone/none");
  EXPECT_EQ(Runs("adaptive", "oracle"), "error: unknown predictor 'oracle': use none, stride, markov, lstm, ensemble, or members joined by + "
            "(stride+markov)");
  EXPECT_NE(Runs("fastest", "").find("error: "), std::string::npos);
}

}  // namespace
}  // namespace ferry
