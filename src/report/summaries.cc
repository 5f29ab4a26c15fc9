// What ferry migrate, verify and status print (report/summaries.h).
#include "report/summaries.h"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>

#include "ferry/journal.h"
#include "ferry/units.h"

namespace ferry::report {
namespace {

double Throughput(const MigrateStats& st) {
  return st.seconds > 0 ? static_cast<double>(st.volume_size - st.bytes_resumed) / st.seconds : 0.0;
}

nlohmann::json RangesJson(const std::vector<Range>& ranges) {
  auto out = nlohmann::json::array();
  for (const auto& r : ranges) out.push_back({{"offset", r.offset}, {"length", r.length}});
  return out;
}

// The live part of `ferry status` for a running `ferry serve`.
std::string LiveStatusText(const LiveStatusRecord& live) {
  std::string out;
  const LiveStats& st = live.stats;
  out += fmt::format("live:         {:.1f}% present, {}{}{}\n", PercentPresent(st), FormatRate(st.rate_bps),
                           st.paused ? ", paused: " + st.paused_reason : "",
                           st.complete ? ", complete: serving from the destination" : "");
  out += fmt::format("requests:     {} reads ({} waited for the source, {:.2f}%: {} first touches, {} seen "
                           "before; {} from kept read-throughs), {} writes ({} waited)\n",
                           st.reads, st.read_stalls,
                           st.reads ? 100.0 * static_cast<double>(st.read_stalls) / static_cast<double>(st.reads) : 0.0,
                           st.read_stalls_first_touch, st.read_stalls_seen, st.reads_kept, st.writes, st.write_stalls);
  if (st.reads) {
    out += fmt::format("read latency: p50 {:.0f} us, p99 {:.0f} us (time in ferry)", st.read_p50_us,
                             st.read_p99_us);
    if (st.read_stalls) {
      out += fmt::format("; of the reads that waited: p50 {:.0f} us, p99 {:.0f} us, {} on average",
                               st.read_miss_p50_us, st.read_miss_p99_us, FormatSize(st.read_miss_bytes / st.read_stalls));
    }
    out += "\n";
  }
  if (st.writes) {
    out += fmt::format("write latency: p50 {:.0f} us, p99 {:.0f} us (time in ferry)", st.write_p50_us, st.write_p99_us);
    if (st.write_stalls) {
      out += fmt::format("; of the writes that waited for a copy: p50 {:.0f} us, p99 {:.0f} us", st.write_wait_p50_us,
                         st.write_wait_p99_us);
    }
    out += "\n";
  }
  if (!st.conclusion.empty()) out += fmt::format("end:          {}\n", st.conclusion);
  const LiveLink& l = st.link;
  out += fmt::format("source link:  base latency {:.2f} ms, delivery {}, queueing {:.2f} ms (target {:.2f} ms); "
                           "in flight {} ({} copies, budget {}){}\n",
                           l.base_latency_ms, FormatRate(l.delivery_rate), l.queue_delay_ms, l.latency_target_ms,
                           FormatSize(l.in_flight), FormatSize(l.copy_in_flight), FormatSize(l.budget),
                           l.app_active ? ", application waiting" : ", application idle");
  if (!st.predictor_error.empty()) {
    out += fmt::format("predictor:    {} could not start, copying without predictions: {}\n", live.predictor,
                       st.predictor_error);
  } else if (live.predictor != "none") {
    out += fmt::format("predictor:    {}: precision {:.3f}, recall {:.3f}, timeliness {:.3f}, {} queued; "
                             "{} stalls prevented{}\n",
                             live.predictor, st.precision, st.recall, st.timeliness, FormatSize(st.predicted_bytes),
                             st.prevented_stalls, st.learning_history ? "; learning the history" : "");
  }
  if (st.copy_errors) {
    out += fmt::format("errors:       {} copies failed, last: {}\n", st.copy_errors, st.last_error);
  }
  if (st.source.outages) {
    const double now_down = st.source.down_now_seconds;
    out += fmt::format("source:       {}; lost {} times, {:.1f} s without it in all\n",
                             now_down > 0 ? fmt::format("LOST {:.1f} s ago, reconnecting (reads of data not on the "
                                                        "destination wait for it, then fail)", now_down)
                                          : std::string("connected"),
                             st.source.outages, st.source.down_seconds);
  }
  if (st.read_errors) {
    out += fmt::format("errors:       {} reads failed on the source (EIO to the client), last: {}\n",
                             st.read_errors, st.last_error);
  }
  return out;
}

}  // namespace

std::string FormatProgressBar(const Progress& p, int width) {
  double frac = p.total_bytes ? static_cast<double>(p.done_bytes) / static_cast<double>(p.total_bytes) : 1.0;
  frac = std::clamp(frac, 0.0, 1.0);
  int filled = static_cast<int>(frac * width);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < width) bar += '>';
  bar.resize(static_cast<size_t>(width), ' ');
  return fmt::format("[{}] {:5.1f}%  {} / {}  {}  ETA {}", bar, frac * 100, FormatSize(p.done_bytes),
                     FormatSize(p.total_bytes), FormatRate(p.rate_bps), FormatEta(p.eta_s));
}

nlohmann::json ProgressJson(const Progress& p, const char* phase) {
  double pct = p.total_bytes ? 100.0 * static_cast<double>(p.done_bytes) / static_cast<double>(p.total_bytes) : 100.0;
  return {{"type", "progress"},   {"phase", phase},        {"done_bytes", p.done_bytes},
          {"total_bytes", p.total_bytes}, {"percent", pct}, {"rate_bps", p.rate_bps},
          {"eta_s", p.eta_s},     {"elapsed_s", p.elapsed_s}, {"chunk_size", p.chunk_size}};
}

nlohmann::json MigrateSummaryJson(const MigrateRunInfo& a, const MigrateStats& st) {
  return {{"source", a.source},
                            {"destination", a.destination},
                            {"volume_size", st.volume_size},
                            {"bytes_copied", st.bytes_copied},
                            {"bytes_skipped", st.bytes_skipped},
                            {"bytes_resumed", st.bytes_resumed},
                            {"copy_ops", st.copy_ops},
                            {"retries", st.retries},
                            {"source_outages", st.source.outages},
                            {"source_down_seconds", st.source.down_seconds},
                            {"chunk_size", st.final_chunk_size},
                            {"seconds", st.seconds},
                            {"throughput_bps", Throughput(st)},
                            {"predictor", a.predictor},
                            {"predicted_bytes", st.predicted_granules * a.granule_size},
                            {"verify", nullptr},
                            {"source_released", false}};
}

std::string MigrateSummaryText(const MigrateRunInfo& a, const MigrateStats& st) {
  std::string this_run = st.bytes_resumed == 0 ? FormatSize(st.volume_size)
                                               : fmt::format("{} ({} this run)", FormatSize(st.volume_size),
                                                             FormatSize(st.volume_size - st.bytes_resumed));
  std::string out = fmt::format("migrated {} to {}: {} in {:.2f} s ({})\n", a.source, a.destination, this_run,
                                st.seconds, FormatRate(Throughput(st)));
  out += fmt::format("  copied {}, skipped {} (holes and zeroes), already present {}; {} copy operations",
                           FormatSize(st.bytes_copied), FormatSize(st.bytes_skipped), FormatSize(st.bytes_resumed),
                           st.copy_ops);
  if (st.retries) out += fmt::format(", {} retries", st.retries);
  out += fmt::format(", last chunk size {}\n", FormatSize(st.final_chunk_size));
  if (a.predictor != "none") {
    out += fmt::format("  predictor {}: {} predicted from the history, copied first\n", a.predictor,
                       FormatSize(st.predicted_granules * a.granule_size));
  }
  return out;
}

nlohmann::json VerifyJson(const VerifyResult& v) {
  return {{"equal", v.equal},
          {"differing", RangesJson(v.differing)},
          {"bytes_compared", v.bytes_compared},
          {"bytes_skipped", v.bytes_skipped},
          {"seconds", v.seconds}};
}

std::string VerifyEqualText(const VerifyResult& v, uint64_t volume_size) {
  return fmt::format("volumes are equal: {} compared ({} read, {} known zero on both sides) in {:.2f} s\n",
                     FormatSize(volume_size), FormatSize(v.bytes_compared), FormatSize(v.bytes_skipped), v.seconds);
}

nlohmann::json NothingToDoJson(const MigrateRunInfo& run, const char* state) {
  return {{"source", run.source}, {"destination", run.destination}, {"nothing_to_do", true}, {"state", state}};
}

std::string NothingToDoText(const std::string& journal) {
  return "the migration recorded in " + journal + " is complete and its source was released; nothing to do\n";
}

std::string VerifyDiffsText(const VerifyResult& v) {
  std::string out = "volumes differ; first differing ranges:\n";
  for (const auto& r : v.differing) {
    out += fmt::format("  offset {} length {} ({} at {})\n", r.offset, r.length, FormatSize(r.length),
                       FormatSize(r.offset));
  }
  return out;
}


namespace {

double PercentOf(const JournalInfo& i) {
  return i.identity.volume_size
             ? 100.0 * static_cast<double>(i.present_bytes) / static_cast<double>(i.identity.volume_size)
             : 100.0;
}

const char* Activity(const JournalInfo& i) {
  return i.locked ? "running" : i.state == JournalState::kCopying ? "interrupted" : "finished";
}

}  // namespace

std::string MigrationStatusJson(const MigrationStatus& st) {
  const JournalInfo& i = st.info;
  nlohmann::json j = {{"journal", st.journal},
                      {"migration_id", i.migration_id},
                      {"source", i.identity.source},
                      {"destination", i.identity.destination},
                      {"volume_size", i.identity.volume_size},
                      {"granule_size", i.identity.granule_size},
                      {"granule_count", i.granule_count},
                      {"present_granules", i.present_granules},
                      {"present_bytes", i.present_bytes},
                      {"percent", PercentOf(i)},
                      {"state", JournalStateName(i.state)},
                      {"activity", Activity(i)},
                      {"generation", i.generation},
                      {"writer_pid", i.writer_pid},
                      {"created_unix", i.created_unix},
                      {"committed_unix", static_cast<double>(i.committed_unix_ns) / 1e9}};
  if (st.live) j["live"] = st.live_json;
  return j.dump();
}

std::string MigrationStatusText(const MigrationStatus& st) {
  const JournalInfo& i = st.info;
  const time_t committed = static_cast<time_t>(i.committed_unix_ns / 1000000000);
  char when[64];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::localtime(&committed));
  std::string out = fmt::format("journal:      {} (migration {})\n", st.journal, i.migration_id);
  out += fmt::format("source:       {}\n", i.identity.source);
  out += fmt::format("destination:  {}\n", i.identity.destination);
  out += fmt::format("volume:       {} ({} bytes) in {} granules of {}\n", FormatSize(i.identity.volume_size),
                     i.identity.volume_size, i.granule_count, FormatSize(i.identity.granule_size));
  out += fmt::format("progress:     {:.1f}% ({} of {} granules present, {})\n", PercentOf(i), i.present_granules,
                     i.granule_count, FormatSize(i.present_bytes));
  out += fmt::format("state:        {}, {}{}\n", JournalStateName(i.state), Activity(i),
                     i.locked                             ? fmt::format(" (pid {})", i.writer_pid)
                     : i.state == JournalState::kCopying ? ": rerun the same ferry migrate command to resume"
                                                           : "");
  out += fmt::format("last commit:  {} (generation {})\n", when, i.generation);
  if (st.live) out += LiveStatusText(*st.live);
  return out;
}
}  // namespace ferry::report
