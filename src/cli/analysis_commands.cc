// `ferry heat TRACE` and `ferry simulate TRACE` (docs/cli.md).
#include "cli/analysis_commands.h"

#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/parsed_flags.h"
#include "cli/trace_input.h"
#include "ferry/units.h"
#include "heat/profile.h"
#include "predict/predictor.h"
#include "report/heat_report.h"
#include "report/html.h"
#include "sim/simulator.h"
#include "volume/zero_map.h"

namespace ferry::cli {
namespace {


using report::WriteFile;


// ---- ferry heat ----------------------------------------------------------------

struct HeatArgs {
  TraceInput in;
  std::string granule = "64K", window = "60s", slide = "5s", hot = "10%", volume_size;
  uint32_t hot_count = 0;
  int top = 10;
  std::string report;
  bool json = false;
};

std::string HeatReport(const HeatArgs& a, const LoadedTrace& t, const HeatProfile& p, const HeatProfileOptions& o) {
  return report::HeatReport("ferry heat: " + a.in.path,
                            fmt::format("{} (device {}): {} events over {:.1f} s", report::Escape(a.in.path), t.device,
                                        p.events, p.span_s),
                            p, o);
}

int RunHeat(HeatArgs& a) {
  HeatProfileOptions o;
  ParsedFlags p;
  p.Size(a.granule, "--granule", &o.heat.granule_size);
  p.Duration(a.window, "--window", &o.heat.window);
  p.Duration(a.slide, "--slide", &o.heat.slide);
  p.Share(a.hot, "--hot", &o.hot_quantile);
  p.Size(a.volume_size, "--volume-size", &o.volume_size);
  if (!p.status.ok()) return Fail(kExitUsage, p.status.message());
  if (Status s = ValidateHeatOptions(o.heat); !s.ok()) return Fail(kExitUsage, s.message());
  // --hot 10% means the top 10% are hot: the quantile is 1 - share.
  o.hot_quantile = 1 - o.hot_quantile;
  o.top_ranges = a.top;
  o.hot_count = a.hot_count;
  auto t = LoadTraceInput(a.in);
  if (!t.ok()) return Fail(TraceExitCode(a.in), t.status().message());
  HeatProfile prof = BuildHeatProfile(t->events, o);

  if (!a.report.empty()) {
    if (Status s = WriteFile(a.report, HeatReport(a, *t, prof, o)); !s.ok()) return Fail(kExitFailure, s.message());
  }
  const ClassSample last = prof.classes.empty() ? ClassSample{} : prof.classes.back();
  if (a.json) {
    nlohmann::json classes = nlohmann::json::array(), hottest = nlohmann::json::array();
    for (const auto& c : prof.classes) {
      classes.push_back({{"time_s", c.time_s}, {"hot_bytes", c.hot_bytes}, {"warm_bytes", c.warm_bytes},
                         {"cold_bytes", c.cold_bytes}, {"hot_threshold", c.hot_threshold}});
    }
    for (const auto& r : prof.hottest) {
      hottest.push_back({{"offset", r.offset}, {"length", r.length}, {"accesses", r.accesses}, {"per_granule", r.per_granule}});
    }
    nlohmann::json j = {{"trace", a.in.path}, {"device", t->device}, {"events", prof.events}, {"span_s", prof.span_s},
                        {"volume_size", prof.volume_size}, {"granule", o.heat.granule_size},
                        {"window_s", std::chrono::duration<double>(o.heat.window).count()},
                        {"slide_s", std::chrono::duration<double>(o.heat.slide).count()},
                        {"hot_share", 1 - o.hot_quantile}, {"hot_count", o.hot_count}, {"touched_bytes", prof.touched_granules * o.heat.granule_size},
                        {"classes", classes}, {"hottest_ranges", hottest}};
    if (!a.report.empty()) j["report"] = a.report;
    std::cout << j.dump() << std::endl;
    return kExitOk;
  }
  uint64_t peak_hot = 0;
  double peak_t = 0;
  for (const auto& c : prof.classes) {
    if (c.hot_bytes > peak_hot) peak_hot = c.hot_bytes, peak_t = c.time_s;
  }
  std::cout << fmt::format("trace:     {} (device {}), {} events over {:.1f} s\n", a.in.path, t->device, prof.events, prof.span_s)
            << fmt::format("volume:    {}; granule {}, window {}, slide {}\n", FormatSize(prof.volume_size),
                           FormatSize(o.heat.granule_size), a.window, a.slide)
            << fmt::format("touched:   {} over the whole trace\n", FormatSize(prof.touched_granules * o.heat.granule_size))
            << fmt::format("at the end: hot {}, warm {}, cold {} (hot = {} or more accesses in the window)\n",
                           FormatSize(last.hot_bytes), FormatSize(last.warm_bytes), FormatSize(last.cold_bytes),
                           last.hot_threshold)
            << fmt::format("peak hot:  {} at {:.1f} s\n", FormatSize(peak_hot), peak_t)
            << "hottest ranges:\n";
  for (const auto& r : prof.hottest) {
    std::cout << fmt::format("  {:>12} +{:<10} {:>9} accesses ({:.1f} per granule)\n", FormatSize(r.offset),
                             FormatSize(r.length), r.accesses, r.per_granule);
  }
  if (!a.report.empty()) std::cout << "report:    " << a.report << "\n";
  return kExitOk;
}

// ---- ferry simulate --------------------------------------------------------------

struct SimArgs {
  TraceInput in;
  HistoryInput history;
  std::string policy = "all";
  std::string predictor = "none";
  std::string model;
  std::string granule = "64K", min_chunk, max_chunk = "2M", source_latency = "2ms", source_bw, dest_latency = "100us";
  std::string warmup = "25%", volume_size, source, rate, latency_target, min_rate;
  double time_scale = 1.0;
  int requests = SimScenario{}.max_in_flight;
  std::string report;
  bool json = false;
};

nlohmann::json ScenarioJson(const SimArgs& a, const LoadedTrace& t, const ResolvedScenario& r) {
  const double window = std::chrono::duration<double>(r.trace_end - r.migration_start).count();
  return {{"trace", a.in.path},
          {"device", t.device},
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
          {"rate", r.s.rate},
          {"dest_latency_us", std::chrono::duration<double, std::micro>(r.s.dest_latency).count()},
          {"warmup", r.s.warmup},
          {"time_scale", r.s.time_scale},
          {"in_flight", r.s.max_in_flight},
          {"trace_span_s", std::chrono::duration<double>(r.trace_end - r.trace_start).count()},
          {"migration_start_s", std::chrono::duration<double>(r.migration_start - r.trace_start).count()},
          {"data_bytes", r.data_bytes},
          {"source", a.source},
          // At the link's bandwidth, or at --rate when that is lower.
          {"bare_copy_s", static_cast<double>(r.data_bytes) /
                              static_cast<double>(r.s.rate ? std::min(r.s.rate, r.source_bw) : r.source_bw)},
          {"migration_window_s", window}};
}

nlohmann::json ResultJson(const SimResult& r) {
  return {{"policy", PolicyName(r.policy)},
          {"predictor", r.predictor},
          {"reads", r.reads},
          {"read_stalls", r.read_stalls},
          {"read_stalls_first_touch", r.read_stalls_first_touch},
          {"read_stalls_seen", r.read_stalls_seen},
          {"prevented_stalls", r.prevented_stalls},
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

std::vector<std::string> ResultRow(const SimResult& r, uint64_t volume) {
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

const std::vector<std::string> kHeader = {"policy", "predictor", "precision", "recall", "reads", "read stalls",
                                          "first touch", "seen", "prevented", "stall ratio", "write stalls", "p50 us",
                                          "p99 us", "p99.9 us", "mean us", "migration s", "source/volume", "copy ops"};

std::string SimReport(const SimArgs& a, const nlohmann::json& scenario, const std::vector<SimResult>& results, uint64_t volume) {
  using namespace report;
  std::string body = "<h2>Scenario</h2><p>";
  body += fmt::format(
      "{} (device {}), volume {}. The first {:.0f}% of the trace ({:.1f} s) is observed; the migration starts at "
      "{:.1f} s, and the remaining {:.1f} s of the trace run against the destination. Source: {} latency, {} "
      "(a bare copy takes {:.1f} s); destination: {} latency; {} background copies in flight.",
      Escape(a.in.path), scenario["device"].get<uint32_t>(), FormatSize(volume), 100 * scenario["warmup"].get<double>(),
      scenario["migration_start_s"].get<double>(), scenario["migration_start_s"].get<double>(),
      scenario["migration_window_s"].get<double>(), a.source_latency, FormatRate(scenario["source_bw"].get<double>()),
      scenario["bare_copy_s"].get<double>(), a.dest_latency, scenario["in_flight"].get<int>());
  if (scenario["time_scale"].get<double>() != 1.0) {
    body += fmt::format(" <b>Trace time is stretched by {}x</b> (--time-scale): every timestamp was multiplied.",
                        scenario["time_scale"].get<double>());
  }
  body += "</p>";
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : results) rows.push_back(ResultRow(r, volume));
  body += "<h2>Policies</h2>" + Table(kHeader, rows);
  std::vector<std::vector<std::string>> pred_rows;
  for (const auto& r : results) {
    if (r.predictor == "none") continue;
    pred_rows.push_back({PolicyName(r.policy), r.predictor, fmt::format("{:.3f}", r.precision),
                         fmt::format("{:.3f}", r.recall), fmt::format("{:.3f}", r.timeliness), FormatSize(r.wasted_bytes),
                         fmt::format("{:.3f}", r.predict_cpu_s), fmt::format("{:.3f}", r.train_cpu_s),
                         fmt::format("{:.4f}", r.read_stall_ratio)});
  }
  if (!pred_rows.empty()) {
    body += "<h2>Predictors</h2>" +
            Table({"policy", "predictor", "precision", "recall", "timeliness", "wasted", "predict CPU s", "train CPU s",
                   "stall ratio"},
                  pred_rows) +
            "<p class=note>precision: predicted granules accessed afterwards / predicted; recall: accesses that had "
            "been predicted / all accesses after the start; timeliness: of those, the share already present; wasted: "
            "bytes prefetched on a prediction and never accessed afterwards.</p>";
  }
  body += "<p class=note>dmclone: ascending copy, reads of data not yet copied go to the source; qemu-stream: "
          "ascending 512 KiB copy with copy-on-read; heat: fixed chunks hottest first; adaptive: ferry; "
          "clairvoyant: the order of true next access (a bound, not a policy).</p>";

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
  return Page("ferry simulate: " + a.in.path, body);
}

int RunSimulate(SimArgs& a) {
  SimScenario s;
  ParsedFlags p;
  p.Size(a.granule, "--granule", &s.granule_size);
  p.Size(a.max_chunk, "--max-chunk", &s.max_chunk);
  p.Duration(a.source_latency, "--source-latency", &s.source_latency);
  p.Size(a.source_bw, "--source-bw", &s.source_bw);
  p.Size(a.rate, "--rate", &s.rate);
  p.Duration(a.latency_target, "--latency-target", &s.latency_target);
  p.Size(a.min_rate, "--min-rate", &s.min_rate);
  p.Duration(a.dest_latency, "--dest-latency", &s.dest_latency);
  p.Share(a.warmup, "--warmup", &s.warmup);
  p.Size(a.volume_size, "--volume-size", &s.volume_size);
  s.min_chunk = s.granule_size;
  p.Size(a.min_chunk, "--min-chunk", &s.min_chunk);
  if (!p.status.ok()) return Fail(kExitUsage, p.status.message());
  s.time_scale = a.time_scale;
  s.max_in_flight = a.requests;
  std::vector<Policy> policies;
  if (a.policy == "all") {
    policies = {Policy::kDmClone, Policy::kQemuStream, Policy::kHeat, Policy::kAdaptive, Policy::kClairvoyant};
  } else {
    auto pol = ParsePolicy(a.policy);
    if (!pol.ok()) return Fail(kExitUsage, pol.status().message() + " (or all)");
    policies = {*pol};
  }
  std::vector<std::string> predictors = {a.predictor};
  if (a.predictor == "all") predictors = PredictorNames();
  for (const std::string& name : predictors) {  // names, and the model file, before the trace is read
    PredictorConfig pc;
    pc.model = a.model;
    pc.granule_size = s.granule_size;
    if (a.predictor == "all" && !a.model.empty() && name != "lstm" && name != "ensemble") continue;
    if (auto made = MakePredictor(name, pc); !made.ok()) {
      if (made.status().code() == StatusCode::kNotSupported) return Fail(kExitFailure, made.status().message());
      const bool unknown = made.status().message().rfind("unknown predictor", 0) == 0;
      return Fail(kExitUsage, made.status().message() + (unknown ? " (or all)" : ""));
    }
  }
  if (!a.source.empty()) {
    // The source's size and holes, as the engine would find them.
    auto v = OpenVolume(a.source, OpenOptions{});
    if (!v.ok()) return Fail(kExitFailure, v.status().WithContext("--source").message());
    if (s.volume_size == 0) s.volume_size = (*v)->size();
    auto zero = std::make_shared<IntervalSet>();
    if (Status z = ReadZeroMap(**v, zero.get()); !z.ok()) return Fail(kExitFailure, z.WithContext("--source " + a.source).message());
    s.source_zero = std::move(zero);
  }
  if (Status h = CheckHistoryInput(a.history); !h.ok()) return Fail(kExitUsage, h.message());
  auto t = LoadTraceInput(a.in);
  if (!t.ok()) return Fail(TraceExitCode(a.in), t.status().message());
  if (!a.history.paths.empty()) {
    // The history goes before the trace, ending a millisecond before its first event.
    auto h = LoadHistoryInput(a.history);
    if (!h.ok()) return Fail(kExitFailure, h.status().WithContext("--history").message());
    std::chrono::nanoseconds first = t->events.front().time;
    for (const IoEvent& e : t->events) first = std::min(first, e.time);
    const std::chrono::nanoseconds shift = first - std::chrono::milliseconds(1) - h->back().time;
    for (IoEvent& e : *h) e.time += shift;
    s.history_events = h->size();
    t->events.insert(t->events.begin(), h->begin(), h->end());
  }
  auto r = ResolveScenario(t->events, s);
  if (!r.ok()) return Fail(kExitUsage, r.status().message());
  if (r->clipped_events) {
    std::cerr << fmt::format("ferry: {} events lie beyond --volume-size and are ignored\n", r->clipped_events);
  }
  std::vector<SimResult> results;
  for (Policy pol : policies) {
    // The baselines model systems without prediction: they run once, with none.
    for (const std::string& pred : PolicyTakesPredictions(pol) ? predictors : std::vector<std::string>{"none"}) {
      SimOptions so;
      so.predictor = pred;
      if (pred == "lstm" || pred == "ensemble") so.model = a.model;
      results.push_back(Simulate(t->events, *r, pol, so));
    }
  }

  nlohmann::json scenario = ScenarioJson(a, *t, *r);
  if (!a.report.empty()) {
    if (Status st = WriteFile(a.report, SimReport(a, scenario, results, r->volume_size)); !st.ok()) {
      return Fail(kExitFailure, st.message());
    }
  }
  if (a.json) {
    nlohmann::json out = {{"scenario", scenario}, {"results", nlohmann::json::array()}};
    for (const auto& res : results) out["results"].push_back(ResultJson(res));
    std::cout << out.dump() << std::endl;
    return kExitOk;
  }
  std::cout << fmt::format("trace {} (device {}): {} events, volume {}{}; migration starts at {:.1f} s of {:.1f} s\n",
                           a.in.path, t->device, r->events, FormatSize(r->volume_size),
                           a.source.empty() ? "" : fmt::format(" ({} of data in {})", FormatSize(r->data_bytes), a.source),
                           scenario["migration_start_s"].get<double>(), scenario["trace_span_s"].get<double>())
            << fmt::format("source {} latency, {}{} (bare copy {:.1f} s); destination {} latency\n", a.source_latency,
                           FormatRate(static_cast<double>(r->source_bw)),
                           s.rate ? ", background paced to " + FormatRate(static_cast<double>(s.rate)) : "",
                           scenario["bare_copy_s"].get<double>(), a.dest_latency);
  if (s.time_scale != 1.0) std::cout << fmt::format("trace time stretched by {}x\n", s.time_scale);
  std::vector<size_t> width(kHeader.size());
  std::vector<std::vector<std::string>> rows;
  for (const auto& res : results) rows.push_back(ResultRow(res, r->volume_size));
  for (size_t c = 0; c < kHeader.size(); ++c) {
    width[c] = kHeader[c].size();
    for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
  }
  auto print = [&](const std::vector<std::string>& row) {
    for (size_t c = 0; c < row.size(); ++c) {
      std::cout << (c == 0 ? fmt::format("{:<{}}", row[c], width[c]) : fmt::format("  {:>{}}", row[c], width[c]));
    }
    std::cout << "\n";
  };
  print(kHeader);
  for (const auto& row : rows) print(row);
  if (!a.report.empty()) std::cout << "report: " << a.report << "\n";
  return kExitOk;
}

}  // namespace

void AddHeatCommand(CLI::App& app, std::function<int()>* run) {
  auto a = std::make_shared<HeatArgs>();
  auto* c = app.add_subcommand("heat", "Show where a workload lives: accesses by offset and time, hot/warm/cold "
                                       "bytes over time, the hottest ranges.");
  c->add_option("TRACE", a->in.path, "trace file, gzip-compressed or not")->required();
  AddTraceInputOptions(c, &a->in);
  c->add_option("--granule", a->granule, "heat-map unit (default: 64K)")->option_text("SIZE");
  c->add_option("--window", a->window, "sliding window length (default: 60s)")->option_text("DURATION");
  c->add_option("--slide", a->slide, "window step (default: 5s)")->option_text("DURATION");
  c->add_option("--hot", a->hot, "share of touched granules counted hot, the most accessed (default: 10%)")
      ->option_text("SHARE");
  c->add_option("--hot-count", a->hot_count, "instead of --hot: a granule with N or more accesses in the window is hot")
      ->option_text("N");
  c->add_option("--volume-size", a->volume_size, "volume size (default: the end of the highest access)")->option_text("SIZE");
  c->add_option("--top", a->top, "hottest ranges to list (default: 10)")->option_text("N");
  c->add_option("--report", a->report, "write a self-contained HTML report")->option_text("FILE.html");
  c->add_flag("--json", a->json, "print as one JSON object");
  c->callback([a, run] { *run = [a] { return RunHeat(*a); }; });
}

void AddSimulateCommand(CLI::App& app, std::function<int()>* run) {
  auto a = std::make_shared<SimArgs>();
  auto* c = app.add_subcommand("simulate", "Replay a trace against a modelled live migration and compare copy "
                                           "policies: read stalls, latency, migration time.");
  c->add_option("TRACE", a->in.path, "trace file, gzip-compressed or not")->required();
  AddTraceInputOptions(c, &a->in);
  c->add_option("--policy", a->policy, "dmclone, qemu-stream, heat, adaptive, clairvoyant or all (the default)")
      ->option_text("POLICY");
  c->add_option("--predictor", a->predictor, "none (the default), stride, markov, lstm, ensemble or all: "
                                              "predictions become prefetches for the adaptive and heat policies")
      ->option_text("NAME");
  c->add_option("--model", a->model, "start the LSTM from this model (ferry train) instead of training it on the "
                                      "warm-up")
      ->option_text("FILE");
  c->add_option("--granule", a->granule, "tracking unit (default: 64K)")->option_text("SIZE");
  c->add_option("--min-chunk", a->min_chunk, "smallest copy (default: the granule)")->option_text("SIZE");
  c->add_option("--max-chunk", a->max_chunk, "largest copy (default: 2M)")->option_text("SIZE");
  c->add_option("--source-latency", a->source_latency, "per request (default: 2ms)")->option_text("DURATION");
  c->add_option("--source-bw", a->source_bw, "bytes/s shared by all copies (default: a bare copy takes half the "
                                              "migration window)")
      ->option_text("SIZE");
  c->add_option("--dest-latency", a->dest_latency, "per request (default: 100us)")->option_text("DURATION");
  c->add_option("--rate", a->rate, "pace background and prefetch copies to SIZE bytes/s, as ferry serve --rate "
                                   "does (demands are not held back; default: unpaced)")
      ->option_text("SIZE");
  AddHistoryOptions(c, &a->history, "observed before the trace, as ferry serve --history "
                                   "would (then give --warmup 0 to start the migration with the "
                                   "trace)");
  c->add_option("--warmup", a->warmup, "share of the trace observed before the migration starts (default: 25%)")
      ->option_text("SHARE");
  c->add_option("--time-scale", a->time_scale, "multiply trace times by this (stretch a short trace)")
      ->option_text("X");
  c->add_option("--volume-size", a->volume_size, "volume size (default: the end of the highest access)")->option_text("SIZE");
  c->add_option("--source", a->source,
                "the volume to be migrated (a path or an NBD URI): its size is the volume's and its holes are copied "
                "without a source read, as ferry migrate and ferry serve do")
      ->option_text("SRC");
  c->add_option("--requests", a->requests, "copies in flight at most (default: 64, as ferry serve and migrate)")
      ->option_text("N");
  c->add_option("--latency-target", a->latency_target,
                "adaptive: the queueing delay an application read on the source may see behind copies "
                "(default: a quarter of the base latency, as ferry serve)")
      ->option_text("DURATION");
  c->add_option("--min-rate", a->min_rate, "adaptive: copy bytes/s that go on whatever the delay (default: a tenth "
                                           "of the delivery rate, as ferry serve)")
      ->option_text("SIZE");
  c->add_option("--report", a->report, "write a self-contained HTML report")->option_text("FILE.html");
  c->add_flag("--json", a->json, "print as one JSON object");
  c->callback([a, run] { *run = [a] { return RunSimulate(*a); }; });
}

}  // namespace ferry::cli
