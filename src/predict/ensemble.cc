#include "predict/ensemble.h"

#include <algorithm>

namespace ferry {

EnsemblePredictor::EnsemblePredictor(std::vector<std::unique_ptr<Predictor>> members, const EnsembleOptions& options)
    : o_(options) {
  for (auto& p : members) members_.push_back({std::move(p)});
}

void EnsemblePredictor::Train() {
  for (Member& m : members_) m.p->Train();
}

double EnsemblePredictor::train_cpu_s() const {
  double s = 0;
  for (const Member& m : members_) s += m.p->train_cpu_s();
  return s;
}

std::vector<double> EnsemblePredictor::weights() const {
  std::vector<double> out;
  for (const Member& m : members_) out.push_back(m.weight);
  return out;
}

void EnsemblePredictor::Outcome(const PredictionOutcome& outcome) {
  judged_ = true;
  for (Member& m : members_) {
    if (m.weight < o_.min_weight || !m.open.erase(outcome.granule)) continue;  // not its queued prediction
    // Late: the prediction named data the application needed, so its copy shortened
    // the wait or moved bytes that had to move anyway; neither reward nor blame.
    if (outcome.prevented) m.weight = std::min(1.0, m.weight * (1 + o_.eta));
  }
}

void EnsemblePredictor::Observe(uint64_t first, uint64_t last, IoOp op, std::vector<Prediction>* out) {
  ++clock_;
  for (Member& m : members_) {
    // Score: what this access hits, and what expired unused.
    // Once outcomes come (Outcome), a heard member is judged by them alone; an unheard
    // one earns its way back by its hits, a tenth as fast, so that one whose predictions
    // always come late is heard about one time in ten (to see whether they still do).
    const double gain = !judged_ ? o_.eta : m.weight < o_.min_weight ? o_.eta / 10 : 0;
    for (uint64_t g = first; g <= last; ++g) {
      if (m.open.erase(g)) m.weight = std::min(1.0, m.weight * (1 + gain));
    }
    while (!m.order.empty() && m.order.front().first + static_cast<uint64_t>(o_.horizon) < clock_) {
      auto it = m.open.find(m.order.front().second);
      if (it != m.open.end() && it->second == m.order.front().first) {
        m.open.erase(it);
        m.weight *= 1 - o_.eta;
      }
      m.order.pop_front();
    }
    m.weight = std::max(m.weight, o_.floor);
  }
  for (Member& m : members_) {
    scratch_.clear();
    m.p->Observe(first, last, op, &scratch_);
    for (const Prediction& p : scratch_) {
      for (uint64_t g = p.granule; g < p.granule + p.count; ++g) {
        if (m.open.emplace(g, clock_).second) m.order.emplace_back(clock_, g);
      }
      // A heard member speaks at its own likelihood: scaled by the weight, a prediction
      // made just after an expiry ranked below older, staler ones in the one prefetch
      // queue (docs/design-notes.md, "The ensemble: one gate per member").
      if (m.weight >= o_.min_weight) out->push_back(p);
    }
  }
  // Most likely first; ties by address so the order does not depend on the sort.
  std::sort(out->begin(), out->end(), [](const Prediction& a, const Prediction& b) {
    if (a.likelihood != b.likelihood) return a.likelihood > b.likelihood;
    if (a.granule != b.granule) return a.granule < b.granule;
    return a.count < b.count;
  });
}

}  // namespace ferry
