// WatchedSource: `ferry watch` (see ferry/watch.h).
#include "ferry/watch.h"

#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/live_status.h"
#include "ferry/units.h"
#include "trace/recorder.h"

namespace ferry {

using Clock = std::chrono::steady_clock;

struct WatchedSource::Impl {
  std::unique_ptr<Volume> source;
  WatchOptions options;
  Clock::time_point start = Clock::now();
  std::unique_ptr<TraceRecorder> recorder;

  mutable std::mutex mu;
  WatchStats st;
  absl::flat_hash_map<uint64_t, uint64_t> counts;  // granule -> accesses
  std::vector<IoEvent> events;

  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::thread status_thread;

  // Passes one request to the source (`io`, then a flush for FUA). It is recorded as it
  // arrives, at the time the application sent it (not at its answer, a source latency
  // later), and observed with its answer.
  template <typename F>
  Status Pass(IoOp op, uint64_t offset, uint64_t length, bool fua, F&& io) {
    if (recorder) recorder->Record(op, offset, length);
    const auto at = Clock::now();
    Status s = io();
    if (s.ok() && fua) s = source->Flush();
    Observe(op, offset, length, at, s);
    return s;
  }

  // The request that arrived `at` was answered with `s`.
  void Observe(IoOp op, uint64_t offset, uint64_t length, Clock::time_point at, const Status& s) {
    const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(at - start);
    std::lock_guard<std::mutex> lock(mu);
    if (!s.ok()) ++st.errors;
    (op == IoOp::kRead ? st.reads : st.writes) += 1;
    (op == IoOp::kRead ? st.read_bytes : st.write_bytes) += length;
    const uint64_t g = options.granule_size;
    for (uint64_t k = offset / g; k <= (offset + std::max<uint64_t>(length, 1) - 1) / g; ++k) ++counts[k];
    if (events.size() < options.max_events) {
      IoEvent e;
      e.time = now;
      e.op = op;
      e.offset = offset;
      e.length = length;
      events.push_back(e);
    } else {
      ++st.events_dropped;
    }
  }

  WatchStats Stats() const {
    std::lock_guard<std::mutex> lock(mu);
    WatchStats out = st;
    out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    out.touched_granules = counts.size();
    out.recorded = recorder ? recorder->records() : 0;
    std::vector<std::pair<uint64_t, uint64_t>> top(counts.begin(), counts.end());
    const size_t n = std::min<size_t>(10, top.size());
    std::partial_sort(top.begin(), top.begin() + static_cast<ptrdiff_t>(n), top.end(),
                      [](const auto& a, const auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); });
    for (size_t i = 0; i < n; ++i) {
      const uint64_t off = top[i].first * options.granule_size;
      out.hottest.push_back({off, std::min(options.granule_size, out.volume_size - std::min(off, out.volume_size)), top[i].second});
    }
    return out;
  }

  void WriteStatus(bool running) const {
    if (options.status.empty()) return;
    (void)WriteFileAtomically(options.status, WatchStatusJson(Stats(), running) + "\n", "the status file");
  }
};

Result<std::unique_ptr<WatchedSource>> WatchedSource::Start(std::unique_ptr<Volume> source, const WatchOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->st.source = source->name();
  impl->st.volume_size = source->size();
  impl->st.granule_size = options.granule_size;
  if (!options.record.empty()) {
    FERRY_ASSIGN_OR_RETURN(impl->recorder, TraceRecorder::Create(options.record, source->name()));
  }
  impl->source = std::move(source);
  if (!options.status.empty()) {
    FERRY_RETURN_IF_ERROR(WriteFileAtomically(options.status, WatchStatusJson(impl->Stats(), true) + "\n", "the status file"));
    Impl* raw = impl.get();
    impl->status_thread = std::thread([raw] {
      std::unique_lock<std::mutex> lock(raw->stop_mu);
      while (!raw->stop_cv.wait_for(lock, std::chrono::seconds(1), [raw] { return raw->stopping; })) {
        lock.unlock();
        raw->WriteStatus(true);
        lock.lock();
      }
    });
  }
  return std::unique_ptr<WatchedSource>(new WatchedSource(std::move(impl)));
}

WatchedSource::WatchedSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WatchedSource::~WatchedSource() { (void)Stop(); }

uint64_t WatchedSource::size() const { return impl_->source->size(); }

Status WatchedSource::Read(uint64_t offset, std::span<std::byte> buf) {
  return impl_->Pass(IoOp::kRead, offset, buf.size(), false, [&] { return impl_->source->Read(offset, buf); });
}

Status WatchedSource::Write(uint64_t offset, std::span<const std::byte> buf, bool fua) {
  return impl_->Pass(IoOp::kWrite, offset, buf.size(), fua, [&] { return impl_->source->Write(offset, buf); });
}

Status WatchedSource::Zero(uint64_t offset, uint64_t length, bool fua) {
  return impl_->Pass(IoOp::kWrite, offset, length, fua, [&] { return impl_->source->Zero(offset, length); });
}

Status WatchedSource::Trim(uint64_t offset, uint64_t length, bool fua) {
  return impl_->Pass(IoOp::kWrite, offset, length, fua, [&] { return impl_->source->Trim(offset, length); });
}

Status WatchedSource::Flush() { return impl_->source->Flush(); }

Status WatchedSource::Extents(uint64_t offset, uint64_t length, std::vector<Extent>* out) {
  return impl_->source->Extents(offset, length, out);
}

WatchStats WatchedSource::stats() const { return impl_->Stats(); }

std::vector<IoEvent> WatchedSource::events() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->events;
}

Status WatchedSource::Stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->stop_mu);
    if (impl_->stopping) return OkStatus();
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  if (impl_->status_thread.joinable()) impl_->status_thread.join();
  Status flushed = impl_->source->Flush();
  Status recorded = impl_->recorder ? impl_->recorder->Close() : OkStatus();
  impl_->WriteStatus(false);
  FERRY_RETURN_IF_ERROR(flushed.WithContext("flushing the source"));
  return recorded;
}

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(WatchStats::Hot, offset, length, accesses)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(WatchStats, source, volume_size, granule_size, seconds, reads, writes,
                                                read_bytes, write_bytes, errors, touched_granules, recorded,
                                                events_dropped, hottest)

std::string WatchStatusJson(const WatchStats& st, bool running) {
  nlohmann::json j = st;
  j["watch"] = true;
  j["running"] = running;
  j["touched_bytes"] = st.touched_granules * st.granule_size;  // for readers of the file
  return j.dump();
}

Result<WatchStatusRecord> ReadWatchStatus(const std::string& path) {
  auto read = ReadLiveStatus(path);
  if (!read.ok() || !read->value("watch", false)) return NotFound(path + " is not the status file of a ferry watch");
  const nlohmann::json& j = *read;
  WatchStatusRecord r;
  try {
    r.running = j.value("running", false);
    r.stats = j.get<WatchStats>();
  } catch (const nlohmann::json::exception& e) {
    return Corrupt("the watch status " + path + " is not what ferry writes: " + e.what());
  }
  return r;
}

std::string WatchStatusText(const WatchStatusRecord& w) {
  const WatchStats& st = w.stats;
  std::string s = fmt::format(
      "watching:     {} ({}), {}\n", st.source, FormatSize(st.volume_size),
      w.running ? fmt::format("for {:.0f} s", st.seconds) : fmt::format("stopped after {:.0f} s", st.seconds));
  s += fmt::format("requests:     {} reads ({}), {} writes ({}); {:.0f} a second\n", st.reads,
                   FormatSize(st.read_bytes), st.writes, FormatSize(st.write_bytes),
                   st.seconds > 0 ? static_cast<double>(st.reads + st.writes) / st.seconds : 0.0);
  s += fmt::format("footprint:    {} touched of {}\n", FormatSize(st.touched_granules * st.granule_size),
                   FormatSize(st.volume_size));
  if (st.recorded) s += fmt::format("recorded:     {} requests\n", st.recorded);
  if (!st.hottest.empty()) {
    s += "hottest:     ";
    for (const WatchStats::Hot& h : st.hottest) s += fmt::format(" {} ({}x)", FormatSize(h.offset), h.accesses);
    s += "\n";
  }
  return s;
}

std::string WatchSummary(const WatchStats& st, const std::string& record) {
  std::string s = fmt::format("ferry: watched {} for {:.1f} s: {} reads ({}), {} writes ({}); {} of {} touched",
                              st.source, st.seconds, st.reads, FormatSize(st.read_bytes), st.writes,
                              FormatSize(st.write_bytes), FormatSize(st.touched_granules * st.granule_size),
                              FormatSize(st.volume_size));
  if (st.errors) s += fmt::format("; {} requests failed on the source", st.errors);
  if (!record.empty()) {
    s += fmt::format("; {} requests recorded in {} (give it to ferry serve or migrate --history)", st.recorded, record);
  }
  return s;
}

}  // namespace ferry
