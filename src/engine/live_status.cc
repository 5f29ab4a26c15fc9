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

nlohmann::json LiveStatusJson(const LiveStats& st, const std::string& predictor, const std::string& policy,
                              bool running) {
  return {{"running", running},
          {"pid", static_cast<int64_t>(::getpid())},
          {"policy", policy},
          {"predictor", predictor},
          {"volume_size", st.volume_size},
          {"present_bytes", st.present_bytes},
          {"percent", st.volume_size ? 100.0 * static_cast<double>(st.present_bytes) / static_cast<double>(st.volume_size) : 100.0},
          {"complete", st.complete},
          {"paused", st.paused},
          {"paused_reason", st.paused_reason},
          {"destination_pauses", st.destination_pauses},
          {"conclusion", st.conclusion},
          {"bytes_copied", st.bytes_copied},
          {"demand_bytes", st.demand_bytes},
          {"predicted_bytes", st.predicted_bytes},
          {"rate_bps", st.rate_bps},
          {"reads", st.reads},
          {"read_stalls", st.read_stalls},
          {"read_stalls_first_touch", st.read_stalls_first_touch},
          {"read_stalls_seen", st.read_stalls_seen},
          {"prevented_stalls", st.prevented_stalls},
          {"writes", st.writes},
          {"write_stalls", st.write_stalls},
          {"copy_errors", st.copy_errors},
          {"read_errors", st.read_errors},
          {"read_through_bytes", st.read_through_bytes},
          {"source", {{"outages", st.source.outages},
                      {"down_seconds", st.source.down_seconds},
                      {"down_now_seconds", st.source.down_now_seconds}}},
          {"link", {{"base_latency_ms", st.link.base_latency_ms},
                    {"delivery_rate", st.link.delivery_rate},
                    {"queue_delay_ms", st.link.queue_delay_ms},
                    {"latency_target_ms", st.link.latency_target_ms},
                    {"in_flight", st.link.in_flight},
                    {"copy_in_flight", st.link.copy_in_flight},
                    {"budget", st.link.budget},
                    {"app_active", st.link.app_active}}},
          {"read_p50_us", st.read_p50_us},
          {"read_p99_us", st.read_p99_us},
          {"read_miss_p50_us", st.read_miss_p50_us},
          {"read_miss_p99_us", st.read_miss_p99_us},
          {"read_miss_bytes", st.read_miss_bytes},
          {"precision", st.precision},
          {"recall", st.recall},
          {"timeliness", st.timeliness},
          {"predictions_skipped", st.predictions_skipped},
          {"seconds", st.seconds},
          {"last_error", st.last_error},
          {"updated_unix", static_cast<int64_t>(::time(nullptr))}};
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

std::string LiveSummary(const LiveStats& st, const std::string& journal) {
  const double pct =
      st.volume_size ? 100.0 * static_cast<double>(st.present_bytes) / static_cast<double>(st.volume_size) : 100.0;
  std::string s = fmt::format("ferry: {} {} of {} ({:.1f}%) in {:.1f} s; copied {} ({} on demand); "
                              "{} reads ({} waited for the source: {} first touches, {} seen before), {} writes ({} "
                              "waited for a copy)",
                              st.complete ? "migrated" : "stopped at", FormatSize(st.present_bytes),
                              FormatSize(st.volume_size), pct, st.seconds, FormatSize(st.bytes_copied),
                              FormatSize(st.demand_bytes), st.reads, st.read_stalls, st.read_stalls_first_touch,
                              st.read_stalls_seen, st.writes, st.write_stalls);
  if (st.predicted_bytes) {
    s += fmt::format("; predictions prevented {} stalls (precision {:.3f}, recall {:.3f})", st.prevented_stalls,
                     st.precision, st.recall);
  }
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
