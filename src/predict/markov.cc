#include "predict/markov.h"

#include <algorithm>

namespace ferry {

void MarkovPredictor::Forget() {
  // Drop the least recently updated quarter (amortised: runs once per max_chunks / 4).
  std::vector<std::pair<uint64_t, uint64_t>> ages;
  ages.reserve(table_.size());
  for (const auto& [k, e] : table_) ages.emplace_back(e.used, k);
  std::nth_element(ages.begin(), ages.begin() + static_cast<ptrdiff_t>(ages.size() / 4), ages.end());
  for (size_t i = 0; i < ages.size() / 4; ++i) table_.erase(ages[i].second);
}

void MarkovPredictor::Observe(uint64_t first, uint64_t last, IoOp, std::vector<Prediction>* out) {
  ++clock_;
  const uint64_t chunk = first / o_.chunk_granules;
  if (have_prev_ && chunk != prev_) {
    Entry& e = table_[prev_];
    e.used = clock_;
    ++e.total;
    auto it = std::find_if(e.next.begin(), e.next.end(), [&](const auto& p) { return p.first == chunk; });
    if (it != e.next.end()) {
      ++it->second;
    } else if (e.next.size() < static_cast<size_t>(o_.successors)) {
      e.next.emplace_back(chunk, 1);
    } else {
      // Replace the weakest successor (space-saving: it inherits the count).
      auto weakest = std::min_element(e.next.begin(), e.next.end(), [](auto& a, auto& b) { return a.second < b.second; });
      *weakest = {chunk, weakest->second + 1};
    }
    std::sort(e.next.begin(), e.next.end(), [](auto& a, auto& b) { return a.second > b.second; });
    if (table_.size() > o_.max_chunks) Forget();
  }
  const uint64_t last_chunk = last / o_.chunk_granules;
  prev_ = last_chunk;
  have_prev_ = true;
  auto it = table_.find(last_chunk);
  if (it == table_.end()) return;
  for (const auto& [next, count] : it->second.next) {
    if (count < o_.min_count) continue;
    out->push_back({next * o_.chunk_granules, o_.chunk_granules,
                    static_cast<double>(count) / static_cast<double>(it->second.total)});
  }
}

}  // namespace ferry
