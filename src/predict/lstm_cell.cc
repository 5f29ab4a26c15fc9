// LstmCell (see lstm_cell.h). Built with -O3 (CMakeLists.txt) so the loops vectorise.
#include "predict/lstm_cell.h"

#include <cmath>

namespace ferry {
namespace {
float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
}  // namespace

void LstmCell::Reset(const LstmWeights* w) {
  w_ = w;
  h_.assign(w->hidden, 0);
  c_.assign(w->hidden, 0);
  gates_.assign(4 * w->hidden, 0);
  logits_.assign(w->vocab, 0);
}

const std::vector<float>& LstmCell::Step(int token) {
  const int H = w_->hidden, G = 4 * H, V = w_->vocab;
  const float* x = w_->input.data() + static_cast<size_t>(token) * G;
  float* g = gates_.data();
  for (int j = 0; j < G; ++j) g[j] = x[j];
  for (int k = 0; k < H; ++k) {
    const float hk = h_[k];
    const float* row = w_->recur.data() + static_cast<size_t>(k) * G;
    for (int j = 0; j < G; ++j) g[j] += hk * row[j];
  }
  for (int j = 0; j < H; ++j) {
    const float i = Sigmoid(g[j]), f = Sigmoid(g[H + j]), c = std::tanh(g[2 * H + j]), o = Sigmoid(g[3 * H + j]);
    c_[j] = f * c_[j] + i * c;
    h_[j] = o * std::tanh(c_[j]);
  }
  float* l = logits_.data();
  for (int j = 0; j < V; ++j) l[j] = w_->out_bias[j];
  for (int k = 0; k < H; ++k) {
    const float hk = h_[k];
    const float* row = w_->out.data() + static_cast<size_t>(k) * V;
    for (int j = 0; j < V; ++j) l[j] += hk * row[j];
  }
  return logits_;
}

}  // namespace ferry
