// MarkovPredictor: successor counts between chunks (DESIGN.md "Prediction"). The volume
// is seen in chunks of `chunk_granules`; for each chunk the predictor counts which
// chunk the next access went to, keeping the `successors` most frequent per chunk and
// at most `max_chunks` chunks (the least recently updated are forgotten), so memory is
// bounded. It predicts the current chunk's successors seen at least `min_count` times,
// with likelihood count / total.
#pragma once

#include <cstdint>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "predict/predictor.h"

namespace ferry {

struct MarkovOptions {
  uint64_t chunk_granules = 1;  // Default: a granule (64 KiB).
  int successors = 4;
  size_t max_chunks = 1 << 18;  // 256 Ki chunks: a few tens of MiB at most
  uint32_t min_count = 2;
};

class MarkovPredictor : public Predictor {
 public:
  explicit MarkovPredictor(const MarkovOptions& options = {}) : o_(options) {}
  const char* name() const override { return "markov"; }
  void Observe(uint64_t first, uint64_t last, IoOp op, std::vector<Prediction>* out) override;
  size_t chunks() const { return table_.size(); }

 private:
  struct Entry {
    std::vector<std::pair<uint64_t, uint32_t>> next;  // chunk, count; most frequent first
    uint32_t total = 0;
    uint64_t used = 0;
  };
  void Forget();

  MarkovOptions o_;
  absl::flat_hash_map<uint64_t, Entry> table_;
  bool have_prev_ = false;
  uint64_t prev_ = 0;
  uint64_t clock_ = 0;
};

}  // namespace ferry
