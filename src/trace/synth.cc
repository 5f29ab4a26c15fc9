#include "trace/synth.h"

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace ferry {
namespace {

class SyntheticTrace : public TraceReader {
 public:
  explicit SyntheticTrace(const SynthOptions& o) : o_(o), rng_(o.seed) {
    const uint64_t part = o.streams > 0 ? o.volume_size / static_cast<uint64_t>(o.streams) : 0;
    for (int i = 0; i < o.streams; ++i) {
      stream_pos_.push_back(Align(static_cast<uint64_t>(i) * part + part / 4, o.stream_io));
    }
  }

  Result<bool> Next(IoEvent* e) override {
    t_ns_ += -std::log(1 - Uniform()) * 1e9 / o_.iops;
    if (t_ns_ >= static_cast<double>(o_.duration.count())) return false;
    e->time = std::chrono::nanoseconds(static_cast<int64_t>(t_ns_));
    e->device = 0;
    const double kind = Uniform();
    if (kind < o_.hot_share) {
      const bool moved = o_.phase_change > 0 && t_ns_ >= o_.phase_change * static_cast<double>(o_.duration.count());
      const uint64_t base = Align(moved ? o_.volume_size / 8 * 5 : o_.volume_size / 8, o_.io_size);
      const double u = Uniform();
      e->offset = base + Align(static_cast<uint64_t>(u * u * static_cast<double>(o_.hot_size)), o_.io_size);
      e->length = o_.io_size;
      e->op = Uniform() < o_.write_share ? IoOp::kWrite : IoOp::kRead;
    } else if (kind < o_.hot_share + o_.stream_share && !stream_pos_.empty()) {
      const size_t s = static_cast<size_t>(rng_() % stream_pos_.size());
      const uint64_t part = o_.volume_size / stream_pos_.size();
      const uint64_t lo = s * part;
      if (stream_pos_[s] + o_.stream_io > lo + part) stream_pos_[s] = Align(lo, o_.stream_io);
      e->offset = stream_pos_[s];
      e->length = o_.stream_io;
      e->op = IoOp::kRead;
      stream_pos_[s] += o_.stream_io;
    } else {
      e->offset = Align(static_cast<uint64_t>(Uniform() * static_cast<double>(o_.volume_size)), o_.io_size);
      e->length = o_.io_size;
      e->op = Uniform() < o_.write_share ? IoOp::kWrite : IoOp::kRead;
    }
    if (e->offset >= o_.volume_size) e->offset = Align(o_.volume_size - 1, o_.io_size);
    e->length = std::min(e->length, o_.volume_size - e->offset);
    return true;
  }

  uint64_t skipped() const override { return 0; }

 private:
  static uint64_t Align(uint64_t v, uint64_t a) { return v / a * a; }
  // [0, 1) from 53 random bits: the same sequence on every platform for a seed.
  double Uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

  SynthOptions o_;
  std::mt19937_64 rng_;
  double t_ns_ = 0;
  std::vector<uint64_t> stream_pos_;
};

}  // namespace

Status ValidateSynthOptions(const SynthOptions& o) {
  if (o.volume_size < (1 << 20)) return InvalidArgument("--volume-size must be at least 1M");
  if (o.duration.count() <= 0) return InvalidArgument("--duration must be positive");
  if (!(o.iops > 0) || o.iops > 1e7) return InvalidArgument("--iops must be between 0 and 10000000");
  if (o.io_size == 0 || o.io_size % 512 || o.io_size > o.volume_size) {
    return InvalidArgument("--io-size must be a multiple of 512 no larger than the volume");
  }
  if (o.stream_io == 0 || o.stream_io % 512 || o.stream_io > o.volume_size / std::max(1, o.streams)) {
    return InvalidArgument("--stream-io must be a multiple of 512 that fits each stream's part of the volume");
  }
  if (o.hot_size == 0 || o.hot_size > o.volume_size / 4) return InvalidArgument("--hot-size must be positive and at most a quarter of the volume");
  if (o.streams < 0 || o.streams > 1024) return InvalidArgument("--streams must be between 0 and 1024");
  auto share = [](double v) { return v >= 0 && v <= 1; };
  if (!share(o.hot_share) || !share(o.stream_share) || !share(o.write_share) || !share(o.phase_change)) {
    return InvalidArgument("shares must be between 0% and 100%");
  }
  if (o.hot_share + o.stream_share > 1) return InvalidArgument("--hot-share plus --stream-share must be at most 100%");
  return OkStatus();
}

Result<std::unique_ptr<TraceReader>> NewSyntheticTrace(const SynthOptions& options) {
  FERRY_RETURN_IF_ERROR(ValidateSynthOptions(options));
  return std::unique_ptr<TraceReader>(new SyntheticTrace(options));
}

}  // namespace ferry
