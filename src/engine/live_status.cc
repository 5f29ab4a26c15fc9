// The live status file (see live_status.h).
#include "engine/live_status.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "engine/metrics.h"
#include "ferry/units.h"

namespace ferry {

std::string LiveStatusPath(const std::string& journal) { return journal + ".live"; }

// The status file's fields are the structs' own, by name (one list each, for writing
// and reading back); a field missing from a file keeps its default.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(VolumeHealth, outages, down_seconds, down_now_seconds)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(LiveLink, base_latency_ms, delivery_rate, queue_delay_ms,
                                                latency_target_ms, in_flight, copy_in_flight, budget, app_active)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(LiveStats, volume_size, present_bytes, bytes_copied, bytes_resumed,
                                                reads, writes, read_stalls, read_stalls_first_touch, read_stalls_seen,
                                                prevented_stalls, reads_kept, write_stalls, demand_bytes, copy_errors, copies_under_way,
                                                read_errors,
                                                read_through_bytes, source, link, predicted_bytes, precision, recall,
                                                timeliness, predictions_skipped, learning_history, predictor_error, complete, paused, paused_reason,
                                                destination_pauses, conclusion, seconds, complete_seconds, rate_bps, read_p50_us,
                                                read_p99_us, read_miss_p50_us, read_miss_p99_us, read_miss_bytes,
                                                write_p50_us, write_p99_us, write_wait_p50_us, write_wait_p99_us,
                                                last_error)

nlohmann::json LiveStatusJson(const LiveStats& st, const std::string& predictor, const std::string& policy,
                              bool running) {
  nlohmann::json j = st;
  j["running"] = running;
  j["pid"] = static_cast<int64_t>(::getpid());
  j["policy"] = policy;
  j["predictor"] = predictor;
  j["percent"] = PercentPresent(st);
  j["updated_unix"] = static_cast<int64_t>(::time(nullptr));
  return j;
}

Result<LiveStatusRecord> LiveStatusOf(const nlohmann::json& j) {
  LiveStatusRecord r;
  try {
    r.running = j.value("running", false);
    r.policy = j.value("policy", std::string());
    r.predictor = j.value("predictor", std::string("none"));
    r.stats = j.get<LiveStats>();
  } catch (const nlohmann::json::exception& e) {
    return Corrupt(std::string("the live status is not what ferry writes: ") + e.what());
  }
  return r;
}

Status WriteFileAtomically(const std::string& path, const std::string& text, const std::string& what) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << text;
    f.flush();
    if (!f) return ErrnoStatus(errno, "cannot write " + what + " '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return ErrnoStatus(errno, "cannot write " + what + " '" + path + "'");
  }
  return OkStatus();
}

Status WriteLiveStatus(const std::string& path, const LiveStats& st, const std::string& predictor,
                       const std::string& policy, bool running) {
  return WriteFileAtomically(path, LiveStatusJson(st, predictor, policy, running).dump() + "\n", "the status file");
}

Result<nlohmann::json> ReadLiveStatus(const std::string& path) {
  std::ifstream f(path);
  if (!f) return NotFound("no live status file '" + path + "'");
  auto j = nlohmann::json::parse(f, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Corrupt("the live status file '" + path + "' is not ferry's JSON");
  return j;
}

Result<MigrationStatus> ReadMigrationStatus(const std::string& journal) {
  MigrationStatus st;
  st.journal = journal;
  FERRY_ASSIGN_OR_RETURN(st.info, Journal::Inspect(journal));
  if (!st.info.locked) return st;
  if (auto l = ReadLiveStatus(LiveStatusPath(journal)); l.ok()) {
    if (auto r = LiveStatusOf(*l); r.ok() && r->running) {
      st.live_json = *l;
      st.live = *r;
    }
  }
  return st;
}

std::string LiveSummary(const LiveStats& st, const std::string& journal) {
  const double pct = PercentPresent(st);
  // A complete run says when it became complete; the server may have served on long after.
  std::string s = fmt::format("ferry: {} {} of {} ({:.1f}%) in {:.1f} s{}; copied {} ({} on demand); "
                              "{} reads ({} waited for the source: {} first touches, {} seen before; {} answered "
                              "from kept read-throughs), {} writes ({} waited for a copy)",
                              st.complete ? "migrated" : "stopped at", FormatSize(st.present_bytes),
                              FormatSize(st.volume_size), pct, MigrationSeconds(st),
                              st.complete ? fmt::format(" (served for {:.1f} s)", st.seconds) : "",
                              FormatSize(st.bytes_copied),
                              FormatSize(st.demand_bytes), st.reads, st.read_stalls, st.read_stalls_first_touch,
                              st.read_stalls_seen, st.reads_kept, st.writes, st.write_stalls);
  if (st.predicted_bytes) {
    s += fmt::format("; predictions prevented {} stalls (precision {:.3f}, recall {:.3f})", st.prevented_stalls,
                     st.precision, st.recall);
  }
  if (!st.predictor_error.empty()) s += "; the predictor could not start (" + st.predictor_error + "): no predictions";
  if (st.copy_errors) s += fmt::format("; {} copies failed (last: {})", st.copy_errors, st.last_error);
  if (st.read_errors) s += fmt::format("; {} reads failed on the source (last: {})", st.read_errors, st.last_error);
  if (st.destination_pauses) {
    s += fmt::format("; a destination error paused the copy {} times{}", st.destination_pauses,
                     st.paused ? " (still paused: " + st.paused_reason + ")" : "");
  }
  if (st.source.outages) {
    s += fmt::format("; the source was lost {} times, {:.1f} s in all", st.source.outages, st.source.down_seconds);
  }
  s += st.complete ? "; the destination is complete" : "; rerun with journal " + journal + " to continue";
  if (!st.conclusion.empty()) s += "; " + st.conclusion;
  return s;
}

StatusWriter::StatusWriter(std::string path, const LiveMigration& live, std::string predictor, std::string policy,
                           std::string metrics_path, std::string journal, std::chrono::milliseconds interval)
    : path_(std::move(path)), predictor_(std::move(predictor)), policy_(std::move(policy)),
      metrics_path_(std::move(metrics_path)), journal_(std::move(journal)), live_(live), interval_(interval) {
  thread_ = std::thread([this] { Run(); });
}

StatusWriter::~StatusWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void StatusWriter::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    (void)WriteLiveStatus(path_, live_.stats(), predictor_, policy_, /*running=*/true);  // best effort
    if (!metrics_path_.empty()) (void)WriteMetrics(metrics_path_, live_.stats(), journal_);  // best effort
    lock.lock();
    cv_.wait_for(lock, interval_, [this] { return stop_; });
  }
}

}  // namespace ferry
