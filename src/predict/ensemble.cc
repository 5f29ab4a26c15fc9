#include "predict/ensemble.h"

#include <algorithm>

namespace ferry {

EnsemblePredictor::EnsemblePredictor(std::vector<std::unique_ptr<Predictor>> members, const EnsembleOptions& options)
    : o_(options) {
  for (auto& p : members) members_.push_back({std::move(p)});
}

std::vector<double> EnsemblePredictor::shares() const {
  double total = 0;
  for (const Member& m : members_) total += m.weight;
  std::vector<double> out;
  for (const Member& m : members_) out.push_back(total > 0 ? m.weight / total : 0);
  return out;
}

void EnsemblePredictor::Observe(uint64_t first, uint64_t last, IoOp op, std::vector<Prediction>* out) {
  ++clock_;
  for (Member& m : members_) {
    // Score: what this access hits, and what expired unused.
    for (uint64_t g = first; g <= last; ++g) {
      if (m.open.erase(g)) m.weight *= 1 + o_.eta;
    }
    while (!m.order.empty() && m.order.front().first + static_cast<uint64_t>(o_.horizon) < clock_) {
      auto it = m.open.find(m.order.front().second);
      if (it != m.open.end() && it->second == m.order.front().first) {
        m.open.erase(it);
        m.weight *= 1 - o_.eta;
      }
      m.order.pop_front();
    }
    m.weight = std::clamp(m.weight, 1e-6, 1e6);  // keep a silenced member able to recover
  }
  const std::vector<double> share = shares();
  for (size_t i = 0; i < members_.size(); ++i) {
    Member& m = members_[i];
    scratch_.clear();
    m.p->Observe(first, last, op, &scratch_);
    for (const Prediction& p : scratch_) {
      for (uint64_t g = p.granule; g < p.granule + p.count; ++g) {
        if (m.open.emplace(g, clock_).second) m.order.emplace_back(clock_, g);
      }
      if (share[i] >= o_.min_share) out->push_back({p.granule, p.count, p.likelihood * share[i]});
    }
  }
  std::stable_sort(out->begin(), out->end(), [](const Prediction& a, const Prediction& b) { return a.likelihood > b.likelihood; });
}

}  // namespace ferry
