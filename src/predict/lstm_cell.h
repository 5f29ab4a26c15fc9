// LstmCell: one step of a trained single-layer LSTM with an embedding input and a
// linear output, in plain C++ over weights exported from the LibTorch model
// (predict/lstm.cc). Why not LibTorch's own forward: at batch size one, its per-op
// dispatch costs about 30 us a step on this machine (a dozen ops on 1x64 tensors),
// and batching steps in time does not amortise it for a recurrent model (a 16-step call
// cost 24.5 us a step); this loop does the same arithmetic in about 7 us
// (docs/design-notes.md, "LSTM inference"). A unit test checks it against LibTorch.
#pragma once

#include <cstdint>
#include <vector>

namespace ferry {

// Gate order i, f, g, o (LibTorch's). Row-major.
struct LstmWeights {
  int vocab = 0, hidden = 0;
  std::vector<float> input;   // vocab x 4*hidden: embedding(token) * W_ih^T + b_ih + b_hh
  std::vector<float> recur;   // hidden x 4*hidden: W_hh^T
  std::vector<float> out;     // hidden x vocab: W_out^T
  std::vector<float> out_bias;  // vocab
};

class LstmCell {
 public:
  explicit LstmCell(const LstmWeights* w) { Reset(w); }
  // New weights (or the same); the state starts from zero.
  void Reset(const LstmWeights* w);
  // Feeds `token`; returns the output logits (vocab of them), valid until the next Step.
  const std::vector<float>& Step(int token);

 private:
  const LstmWeights* w_;
  std::vector<float> h_, c_, gates_, logits_;
};

}  // namespace ferry
