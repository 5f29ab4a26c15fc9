// `ferry train TRACE --model FILE` (docs/cli.md): trains the LSTM predictor on a
// recorded trace and saves it, for `--model` in simulate, migrate and serve.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/analysis_commands.h"
#include "cli/cli.h"
#include "cli/parsed_flags.h"
#include "cli/trace_input.h"
#include "predict/lstm.h"

namespace ferry::cli {
namespace {

struct TrainArgs {
  TraceInput in;
  std::string model;
  std::string granule = "64K";
  int epochs = 8;
  int hidden = LstmOptions{}.hidden;
  int vocab = LstmOptions{}.vocab;
  size_t history = 1000000;
  bool json = false;
};

int RunTrain(TrainArgs& a) {
  LstmOptions o;
  ParsedFlags p;
  p.Size(a.granule, "--granule", &o.granule_size);
  if (!p.status.ok()) return Fail(kExitUsage, p.status.message());
  if (o.granule_size == 0 || (o.granule_size & (o.granule_size - 1))) {
    return Fail(kExitUsage, "--granule must be a power of two, got " + a.granule);
  }
  o.hidden = a.hidden;
  o.vocab = a.vocab;
  o.history = a.history;
  o.epochs = 1;  // one at a time, to show each as it finishes
  o.retrain_every = 0;
  o.background = false;
  // Fail on an unwritable model path before the work, not after it.
  const std::filesystem::path dir = std::filesystem::path(a.model).parent_path();
  std::error_code ec;
  if (!dir.empty() && !std::filesystem::is_directory(dir, ec)) {
    return Fail(kExitUsage, "cannot write model '" + a.model + "': " + dir.string() + " is not a directory");
  }
  auto lstm = NewLstmPredictor(o);
  if (!lstm.ok()) return Fail(kExitFailure, lstm.status().message());

  auto t = LoadTraceInput(a.in);
  if (!t.ok()) return Fail(TraceExitCode(a.in), t.status().message());
  const size_t accesses = t->events.size();
  if (!a.json) {
    std::cout << fmt::format("training on {} accesses of {} (LSTM: {} tokens, {} hidden, {}-byte granules)\n",
                             std::min(accesses, a.history), a.in.path, o.vocab, o.hidden, o.granule_size);
    std::cout << fmt::format("{:>5}  {:>8}  {:>8}  {:>8}  {:>7}  {:>7}\n", "epoch", "tokens", "loss", "accuracy",
                             "wall s", "CPU s");
  }
  nlohmann::json rows = nlohmann::json::array();
  auto trained = TrainLstmOnTrace(**lstm, t->events, o.granule_size, a.epochs, [&](const LstmEpoch& e) {
    rows.push_back({{"epoch", e.epoch}, {"tokens", e.tokens}, {"loss", e.loss}, {"accuracy", e.accuracy},
                    {"seconds", e.seconds}, {"cpu_s", e.cpu_s}});
    if (a.json) return;
    std::cout << fmt::format("{:>5}  {:>8}  {:>8.4f}  {:>8.3f}  {:>7.2f}  {:>7.2f}\n", e.epoch, e.tokens, e.loss,
                             e.accuracy, e.seconds, e.cpu_s)
              << std::flush;
  });
  if (!trained.ok()) return Fail(kExitFailure, a.in.path + ": " + trained.status().message());
  if (Status st = SaveLstmModel(**lstm, a.model); !st.ok()) return Fail(kExitFailure, st.message());
  if (a.json) {
    std::cout << nlohmann::json{{"trace", a.in.path}, {"model", a.model}, {"accesses", accesses},
                                {"granule", o.granule_size}, {"hidden", o.hidden}, {"vocab", o.vocab},
                                {"epochs", rows}}
                     .dump()
              << std::endl;
  } else {
    std::cout << "model: " << a.model << "\n";
  }
  return kExitOk;
}

}  // namespace

void AddTrainCommand(CLI::App& app, std::function<int()>* run) {
  auto a = std::make_shared<TrainArgs>();
  auto* c = app.add_subcommand("train", "Train the LSTM predictor on a recorded trace and save the model, for "
                                        "--predictor lstm --model FILE later.");
  c->add_option("TRACE", a->in.path, "trace file, gzip-compressed or not")->required();
  AddTraceInputOptions(c, &a->in);
  c->add_option("--model", a->model, "where to write the model")->option_text("FILE")->required();
  c->add_option("--granule", a->granule, "the granule the model counts deltas in; use the same in the "
                                         "migration (default: 64K)")
      ->option_text("SIZE");
  c->add_option("--epochs", a->epochs, "passes over the trace (default: 8)")
      ->option_text("N")
      ->check(CLI::Range(1, 1000));
  c->add_option("--hidden", a->hidden, "LSTM hidden units (default: 64)")->option_text("N")->check(CLI::Range(1, 1024));
  c->add_option("--vocab", a->vocab, "distinct deltas the model knows, the most frequent (default: 256)")
      ->option_text("N")
      ->check(CLI::Range(2, 65536));
  c->add_option("--history", a->history, "train on at most the last N accesses (default: 1000000)")
      ->option_text("N")
      ->check(CLI::Range(static_cast<size_t>(64), static_cast<size_t>(100000000)));
  c->add_flag("--json", a->json, "print the epochs as one JSON object");
  c->callback([a, run] { *run = [a] { return RunTrain(*a); }; });
}

}  // namespace ferry::cli
