// The table and HTML report of `ferry simulate` (see sim_report.h).
#include "report/sim_report.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "ferry/units.h"
#include "report/html.h"

namespace ferry::report {

std::vector<std::string> SimTableRow(const SimResult& r, uint64_t volume) {
  const bool predicts = r.predictor != "none";
  return {PolicyName(r.policy),
          r.predictor,
          predicts ? fmt::format("{:.3f}", r.precision) : "-",
          predicts ? fmt::format("{:.3f}", r.recall) : "-",
          std::to_string(r.reads),
          std::to_string(r.read_stalls),
          std::to_string(r.read_stalls_first_touch),
          std::to_string(r.read_stalls_seen),
          predicts ? std::to_string(r.prevented_stalls) : "-",
          std::to_string(r.reads_kept),
          fmt::format("{:.4f}", r.read_stall_ratio),
          std::to_string(r.write_stalls),
          fmt::format("{:.0f}", r.read_latency_us.p50),
          fmt::format("{:.0f}", r.read_latency_us.p99),
          fmt::format("{:.0f}", r.read_latency_us.p999),
          fmt::format("{:.0f}", r.read_latency_us.mean),
          r.completed ? fmt::format("{:.1f}", r.migration_time_s) : "not done",
          fmt::format("{:.3f}", static_cast<double>(r.bytes_from_source) / static_cast<double>(std::max<uint64_t>(1, volume))),
          std::to_string(r.copy_ops)};
}

const std::vector<std::string>& SimTableHeader() {
  static const std::vector<std::string> header = {
      "policy",      "predictor",    "precision", "recall", "reads",   "read stalls",   "first touch", "seen",
      "prevented",   "kept",        "stall ratio",  "write stalls", "p50 us", "p99 us", "p99.9 us", "mean us", "migration s",
      "source/volume", "copy ops"};
  return header;
}

namespace {

// The predictors' figures, one row per policy run with a predictor ("" when none).
std::string PredictorSection(const std::vector<SimResult>& results) {
  std::vector<std::vector<std::string>> pred_rows;
  for (const auto& r : results) {
    if (r.predictor == "none") continue;
    pred_rows.push_back({PolicyName(r.policy), r.predictor, fmt::format("{:.3f}", r.precision),
                         fmt::format("{:.3f}", r.recall), fmt::format("{:.3f}", r.timeliness), FormatSize(r.wasted_bytes),
                         fmt::format("{:.3f}", r.predict_cpu_s), fmt::format("{:.3f}", r.train_cpu_s),
                         fmt::format("{:.4f}", r.read_stall_ratio)});
  }
  if (pred_rows.empty()) return "";
  return "<h2>Predictors</h2>" +
         Table({"policy", "predictor", "precision", "recall", "timeliness", "wasted", "predict CPU s", "train CPU s",
                "stall ratio"},
               pred_rows) +
         "<p class=note>precision: predicted granules accessed afterwards / predicted; recall: accesses that had "
         "been predicted / all accesses after the start; timeliness: of those, the share already present; wasted: "
         "bytes prefetched on a prediction and never accessed afterwards.</p>";
}

// The read latency CDF, the stalls over time and the progress of each run.
std::string SimCharts(const std::vector<SimResult>& results) {
  std::string body;
  std::vector<Series> cdf, stalls, progress;
  double end = 1;
  for (const auto& r : results) end = std::max(end, r.migration_time_s);
  for (const auto& r : results) {
    const std::string label = r.predictor == "none" ? PolicyName(r.policy) : std::string(PolicyName(r.policy)) + "+" + r.predictor;
    Series c{label, {}};
    const auto& l = r.read_latencies_us;
    const size_t step = std::max<size_t>(1, l.size() / 400);
    for (size_t i = 0; i < l.size(); i += step) c.points.emplace_back(l[i], static_cast<double>(i + 1) / static_cast<double>(l.size()));
    if (!l.empty()) c.points.emplace_back(l.back(), 1.0);
    cdf.push_back(std::move(c));
    constexpr int kBins = 100;
    std::vector<double> bins(kBins, 0);
    for (double t : r.stall_times_s) {
      if (t <= end) bins[std::min(kBins - 1, static_cast<int>(t / end * kBins))] += 1;
    }
    Series s{label, {}};
    for (int i = 0; i < kBins; ++i) s.points.emplace_back(end * i / kBins, bins[static_cast<size_t>(i)]);
    stalls.push_back(std::move(s));
    Series pr{label, {}};
    for (auto [t, share] : r.progress) pr.points.emplace_back(t, 100 * share);
    progress.push_back(std::move(pr));
  }
  ChartOptions o = LatencyCdfOptions("Read latency CDF (reads after the migration start)", "share of reads");
  body += LineChart(cdf, o);
  o = {};
  o.title = fmt::format("Read stalls over time ({:.2f} s bins)", end / 100);
  o.x_label = "seconds since the migration start";
  o.y_label = "stalled reads";
  o.step = true;
  o.y_min = 0;
  body += LineChart(stalls, o);
  o = {};
  o.title = "Migration progress";
  o.x_label = "seconds since the migration start";
  o.y_label = "% of the volume present";
  o.y_min = 0;
  o.y_max = 100;
  body += LineChart(progress, o);
  return body;
}

}  // namespace

std::string SimulateReport(const SimRunInfo& run, const ResolvedScenario& sc, const std::vector<SimResult>& results) {
  const ScenarioTimes times = TimesOf(sc);
  const uint64_t volume = sc.volume_size;
  std::string body = "<h2>Scenario</h2><p>";
  body += fmt::format(
      "{} (device {}), volume {}. The first {:.0f}% of the trace ({:.1f} s) is observed; the migration starts at "
      "{:.1f} s, and the remaining {:.1f} s of the trace run against the destination. Source: {} latency, {} "
      "(a bare copy takes {:.1f} s); destination: {} latency; {} background copies in flight.",
      Escape(run.trace), run.device, FormatSize(volume), 100 * sc.s.warmup, times.migration_start_s,
      times.migration_start_s, times.migration_window_s, run.source_latency,
      FormatRate(static_cast<double>(sc.source_bw)), times.bare_copy_s, run.dest_latency, sc.s.max_in_flight);
  if (sc.s.time_scale != 1.0) {
    body += fmt::format(" <b>Trace time is stretched by {}x</b> (--time-scale): every timestamp was multiplied.",
                        sc.s.time_scale);
  }
  body += "</p>";
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : results) rows.push_back(SimTableRow(r, volume));
  body += "<h2>Policies</h2>" + Table(SimTableHeader(), rows);
  body += PredictorSection(results);
  body += "<p class=note>dmclone: ascending copy, reads of data not yet copied go to the source; qemu-stream: "
          "ascending 512 KiB copy with copy-on-read; heat: fixed chunks hottest first; adaptive: ferry; "
          "clairvoyant: the order of true next access (a bound, not a policy).</p>";

  body += SimCharts(results);
  return Page("ferry simulate: " + run.trace, body);
}

namespace {

nlohmann::json ScenarioJson(const SimRunInfo& a, const ResolvedScenario& r) {
  const ScenarioTimes times = TimesOf(r);
  return {{"trace", a.trace},
          {"device", a.device},
          {"events", r.events},
          {"warmup_events", r.warmup_events},
          {"reads_after_start", r.reads_after_start},
          {"clipped_events", r.clipped_events},
          {"volume_size", r.volume_size},
          {"granule", r.s.granule_size},
          {"min_chunk", r.s.min_chunk},
          {"max_chunk", r.s.max_chunk},
          {"source_latency_us", std::chrono::duration<double, std::micro>(r.s.source_latency).count()},
          {"source_bw", r.source_bw},
          {"source_link", r.s.shared_link ? "shared" : "fifo"},
          {"source_burst_s", std::chrono::duration<double>(r.s.source_burst).count()},
          {"source_burst_bw", r.s.source_burst_bw},
          {"rate", r.s.rate},
          {"dest_latency_us", std::chrono::duration<double, std::micro>(r.s.dest_latency).count()},
          {"warmup", r.s.warmup},
          {"time_scale", r.s.time_scale},
          {"in_flight", r.s.max_in_flight},
          {"trace_span_s", times.trace_span_s},
          {"migration_start_s", times.migration_start_s},
          {"data_bytes", r.data_bytes},
          {"source", a.source},
          {"bare_copy_s", times.bare_copy_s},
          {"migration_window_s", times.migration_window_s}};
}

nlohmann::json ResultJson(const SimResult& r) {
  return {{"policy", PolicyName(r.policy)},
          {"predictor", r.predictor},
          {"reads", r.reads},
          {"read_stalls", r.read_stalls},
          {"read_stalls_first_touch", r.read_stalls_first_touch},
          {"read_stalls_seen", r.read_stalls_seen},
          {"prevented_stalls", r.prevented_stalls},
          {"reads_kept", r.reads_kept},
          {"read_stall_ratio", r.read_stall_ratio},
          {"writes", r.writes},
          {"write_stalls", r.write_stalls},
          {"read_latency_us", {{"p50", r.read_latency_us.p50}, {"p99", r.read_latency_us.p99},
                               {"p999", r.read_latency_us.p999}, {"mean", r.read_latency_us.mean}}},
          {"completed", r.completed},
          {"migration_time_s", r.migration_time_s},
          {"bytes_from_source", r.bytes_from_source},
          {"copy_ops", r.copy_ops},
          {"demand_ops", r.demand_ops},
          {"precision", r.precision},
          {"recall", r.recall},
          {"timeliness", r.timeliness},
          {"wasted_bytes", r.wasted_bytes},
          {"predict_cpu_s", r.predict_cpu_s},
          {"train_cpu_s", r.train_cpu_s}};
}

}  // namespace

std::string SimulateJson(const SimRunInfo& run, const ResolvedScenario& scenario, const std::vector<SimResult>& results) {
  nlohmann::json out = {{"scenario", ScenarioJson(run, scenario)}, {"results", nlohmann::json::array()}};
  for (const auto& r : results) out["results"].push_back(ResultJson(r));
  return out.dump();
}

std::string SimulateText(const SimRunInfo& a, const ResolvedScenario& r, const std::vector<SimResult>& results) {
  const ScenarioTimes times = TimesOf(r);
  std::string out = fmt::format("trace {} (device {}): {} events, volume {}{}; migration starts at {:.1f} s of {:.1f} s\n",
                           a.trace, a.device, r.events, FormatSize(r.volume_size),
                           a.source.empty() ? "" : fmt::format(" ({} of data in {})", FormatSize(r.data_bytes), a.source),
                           times.migration_start_s, times.trace_span_s);
  out += fmt::format("source {} latency, {}{}{}{} (bare copy {:.1f} s); destination {} latency\n", a.source_latency,
                           FormatRate(static_cast<double>(r.source_bw)),
                           r.s.shared_link ? " shared per request" : "",
                           r.s.source_burst > std::chrono::nanoseconds(0)
                               ? fmt::format(", a {:g} s burst{}", std::chrono::duration<double>(r.s.source_burst).count(),
                                             r.s.source_burst_bw ? " at " + FormatRate(static_cast<double>(r.s.source_burst_bw)) : "")
                               : "",
                           r.s.rate ? ", background paced to " + FormatRate(static_cast<double>(r.s.rate)) : "",
                           times.bare_copy_s, a.dest_latency);
  if (r.s.time_scale != 1.0) out += fmt::format("trace time stretched by {}x\n", r.s.time_scale);
  const std::vector<std::string>& header = SimTableHeader();
  std::vector<size_t> width(header.size());
  std::vector<std::vector<std::string>> rows;
  for (const auto& res : results) rows.push_back(SimTableRow(res, r.volume_size));
  for (size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
  }
  auto print = [&](const std::vector<std::string>& row) {
    for (size_t c = 0; c < row.size(); ++c) {
      out += c == 0 ? fmt::format("{:<{}}", row[c], width[c]) : fmt::format("  {:>{}}", row[c], width[c]);
    }
    out += "\n";
  };
  print(header);
  for (const auto& row : rows) print(row);
  return out;
}


}  // namespace ferry::report
