// StridePredictor: majority-trend detection over recent deltas per stream (Leap, Al
// Maruf and Chowdhury, USENIX ATC'20). Reads and writes have separate tables of up to
// `max_streams` streams each; an access is assigned to the stream of its kind whose last
// access is nearest (within `max_gap` granules). A new stream replaces the least recently used one without a
// trend, or the least recently used of all when every stream has one, so a slow
// sequential reader is not pushed out by a burst of scattered writes. Each stream keeps its last `window` deltas; when one delta
// is a strict majority (Boyer-Moore vote, then a count), the stream predicts the next
// `depth` accesses along it. As in Leap, the prefetch depth doubles after a hit (the
// stream's access was predicted) up to `max_depth` and halves after a miss; with no
// majority, nothing is predicted (a random stream stays quiet).
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "predict/predictor.h"

namespace ferry {

struct StrideOptions {
  int window = 8;          // deltas per stream. Leap's default history: 8... 32.
  int max_streams = 16;
  int64_t max_gap = 256;   // granules between an access and its stream's last one
  int max_depth = 8;       // granules predicted ahead, at most
};

class StridePredictor : public Predictor {
 public:
  explicit StridePredictor(const StrideOptions& options = {}) : o_(options) {}
  const char* name() const override { return "stride"; }
  void Observe(uint64_t first, uint64_t last, IoOp op, std::vector<Prediction>* out) override;

 private:
  struct Stream {
    uint64_t first = 0, last = 0;  // the last access's granules
    std::deque<int64_t> deltas;   // most recent last
    int depth = 1;
    std::vector<uint64_t> ahead;  // granules predicted last time
    uint64_t used = 0;            // for LRU
    bool trend = false;           // a majority delta at the last access
  };
  StrideOptions o_;
  std::vector<Stream> streams_[2];  // reads, writes
  uint64_t clock_ = 0;
};

}  // namespace ferry
