// LstmPredictor: an LSTM over delta tokens (Hashemi et al., "Learning Memory Access
// Patterns", ICML'18), built with LibTorch. Each access's token is the delta, in
// granules, from the previous access's first granule; the vocabulary is the `vocab` - 1
// most frequent deltas of the training data (token 0: any other delta). The model
// (embedding, one LSTM layer, a linear layer over the vocabulary) reads the token
// sequence and predicts the next delta: its `top_k` most likely deltas, at least
// `min_likelihood` each, become predictions of the next access; the most likely is
// then followed `rollout` accesses ahead (fed back as the next input), each step a
// prediction with the likelihood of the path that leads to it.
//
// Training: Train() learns from the accesses observed so far (the warm-up history) on
// the calling thread; a model can instead come from a file (`--model`). Online, a
// model not trained yet trains after `first_train` accesses, and then every
// `retrain_every` accesses the model trains one more epoch on the last `history`
// accesses: on a background thread whose CPU use is held to `cpu_budget` of a core
// (it sleeps between batches), or inline when `background` is false (the simulator,
// whose time is not the wall clock's, and which must be deterministic). The trained
// weights are published to inference (LstmCell) as a whole.
//
// LibTorch appears in lstm.cc only; this header does not include it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "predict/predictor.h"

namespace ferry {

struct LstmOptions {
  int vocab = 256;  // tokens, including the "other delta" token
  int embed = 32;
  int hidden = 64;
  int seq_len = 32;       // backpropagation-through-time window
  int batch = 32;         // windows per optimiser step
  double learning_rate = 5e-3;
  int epochs = 4;         // Train()'s passes over the history
  int top_k = 2;
  double min_likelihood = 0.2;
  // The most likely path is followed this many accesses ahead (1: the next only), each
  // step predicted with the path's likelihood while it is at least min_likelihood.
  int rollout = 8;
  uint64_t retrain_every = 50000;  // accesses between online epochs; 0: never
  uint64_t first_train = 4000;     // an untrained model trains once it has seen this many
  size_t history = 100000;         // accesses kept for training
  double cpu_budget = 0.25;        // of one core, for background training
  bool background = true;          // false: online epochs run inline in Observe
  uint64_t granule_size = 64 << 10;  // deltas are in granules: a model is for one size
  uint64_t seed = 1;
  // When it turns true, the library's load and any training under way give up (a
  // training at its next batch); the predictor then predicts with what it has, if
  // anything. Not owned: it outlives the predictor. Null: never.
  const std::atomic<bool>* cancel = nullptr;
};

struct LstmEpoch {
  int epoch = 0;
  size_t tokens = 0;
  double loss = 0;      // mean cross-entropy
  double accuracy = 0;  // top-1 next-token accuracy on the training windows
  double seconds = 0;   // wall time of the epoch
  double cpu_s = 0;     // CPU time of the epoch
  double paced_s = 0;   // time it chose to sleep to keep within its CPU budget
};

// The LSTM lives in its own shared library, libferry_lstm.so, loaded on first use: the
// LibTorch libraries it links take about 0.45 s to load and initialise, which every
// ferry command would otherwise pay (docs/design-notes.md). It is looked for at
// $FERRY_LSTM_LIB, then beside the binary that asks (ferry, a test, the nbdkit
// plugin), then in ../lib/ferry from there, then on the library path. Errors say where
// it looked (kNotSupported).

// Whether this build has the LSTM (CMake's FERRY_LSTM, ON by default). Without it
// every call below fails with kNotSupported, saying so.
bool LstmBuilt();

// A new, untrained LSTM predictor.
Result<std::unique_ptr<Predictor>> NewLstmPredictor(const LstmOptions& options = {});
// One saved by SaveLstmModel; `options` gives everything but the model's shape and
// vocabulary. Errors name the file and say what is wrong with it.
Result<std::unique_ptr<Predictor>> LoadLstmPredictor(const std::string& path, const LstmOptions& options = {});
// For a predictor made by the two above: trains `epochs` epochs on the accesses it has
// observed, on this thread (one row per epoch; none when there are too few accesses to
// learn from); writes its model (waiting for a background epoch to finish first).
std::vector<LstmEpoch> TrainLstmEpochs(Predictor& lstm);
Status SaveLstmModel(Predictor& lstm, const std::string& path);
// `ferry train`: the predictor observes every access of `events` (in granules of
// `granule_size`, its own), then trains `epochs` epochs, one at a time, calling
// `on_epoch` after each. kFailedPrecondition when the trace has too few repeating
// deltas to learn from.
Result<std::vector<LstmEpoch>> TrainLstmOnTrace(Predictor& lstm, const std::vector<IoEvent>& events,
                                                uint64_t granule_size, int epochs,
                                                const std::function<void(const LstmEpoch&)>& on_epoch);

// The library's entry points (an ABI between one build's ferry and its library).
struct LstmApi {
  int version;
  Predictor* (*create)(const LstmOptions& options);
  Predictor* (*load)(const std::string& path, const LstmOptions& options, Status* error);
  std::vector<LstmEpoch> (*train_epochs)(Predictor& lstm);
  Status (*save)(Predictor& lstm, const std::string& path);
  // The largest difference between LstmCell's logits and LibTorch's forward over the
  // last `steps` tokens observed (a trained predictor; -1 if untrained).
  double (*cell_error)(Predictor& lstm, int steps);
  // The most recent epoch finished (epoch 0 if none).
  LstmEpoch (*last_epoch)(Predictor& lstm);
};
constexpr int kLstmApiVersion = 2;
// The library's own entry points; kNotSupported when it cannot be loaded, kCancelled
// when `cancel` turned true before it was (not remembered: a later call loads it).
Result<const LstmApi*> LstmLibrary(const std::atomic<bool>* cancel = nullptr);
// Whether the library is there to load, without loading it (LibTorch takes a second to
// load, ten from a cold disk): OK when a file at one of the paths LstmLibrary tries is
// readable; else LstmLibrary's own answer.
Status FindLstmLibrary();
// Loads the first of `paths` that dlopen finds (LstmLibrary's search, for tests):
// kNotSupported, saying why, when none is found, the one found is not ferry's LSTM
// library, or it is another build's; kCancelled, before dlopen, once `cancel` is true.
Result<const LstmApi*> LoadLstmApi(const std::vector<std::string>& paths,
                                   const std::atomic<bool>* cancel = nullptr);

}  // namespace ferry
