#include "predict/stride.h"

#include <algorithm>
#include <cstdlib>

namespace ferry {

void StridePredictor::Observe(uint64_t first, uint64_t last, IoOp op, std::vector<Prediction>* out) {
  ++clock_;
  const uint64_t span = last - first + 1;
  // The nearest stream, by distance from its last access.
  Stream* s = nullptr;
  int64_t best = o_.max_gap + 1;
  std::vector<Stream>& streams = streams_[op == IoOp::kRead ? 0 : 1];
  for (Stream& st : streams) {
    const int64_t d = std::llabs(static_cast<int64_t>(first) - static_cast<int64_t>(st.last));
    if (d < best) best = d, s = &st;
  }
  if (!s) {
    if (streams.size() < static_cast<size_t>(o_.max_streams)) {
      streams.emplace_back();
      s = &streams.back();
    } else {
      s = &*std::min_element(streams.begin(), streams.end(), [](const Stream& a, const Stream& b) {
        return a.trend != b.trend ? !a.trend : a.used < b.used;
      });
      *s = Stream();
    }
    s->first = first;
    s->last = last;
    s->used = clock_;
    return;
  }
  s->used = clock_;
  // Leap: grow the depth after a hit, shrink it after a miss.
  const bool hit = std::find(s->ahead.begin(), s->ahead.end(), first) != s->ahead.end();
  if (!s->ahead.empty()) s->depth = hit ? std::min(o_.max_depth, s->depth * 2) : std::max(1, s->depth / 2);
  // Deltas between the accesses' first granules: a run of 128 KiB reads is a stride of
  // two granules.
  s->deltas.push_back(static_cast<int64_t>(first) - static_cast<int64_t>(s->first));
  if (s->deltas.size() > static_cast<size_t>(o_.window)) s->deltas.pop_front();
  s->first = first;
  s->last = last;
  s->ahead.clear();

  // Boyer-Moore majority vote, then a count to confirm a strict majority.
  int64_t cand = 0;
  int votes = 0;
  for (int64_t d : s->deltas) {
    if (votes == 0) cand = d, votes = 1;
    else votes += d == cand ? 1 : -1;
  }
  const auto n = std::count(s->deltas.begin(), s->deltas.end(), cand);
  s->trend = cand != 0 && s->deltas.size() >= 3 && 2 * static_cast<size_t>(n) > s->deltas.size();
  if (!s->trend) return;
  const double likelihood = static_cast<double>(n) / static_cast<double>(s->deltas.size());
  int64_t next = static_cast<int64_t>(first);
  for (int i = 0; i < s->depth; ++i) {
    next += cand;
    if (next < 0) break;
    s->ahead.push_back(static_cast<uint64_t>(next));
    out->push_back({static_cast<uint64_t>(next), span, likelihood, static_cast<uint32_t>(i + 1)});
  }
}

}  // namespace ferry
