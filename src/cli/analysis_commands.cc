// `ferry heat TRACE` and `ferry simulate TRACE` (docs/cli.md).
#include "cli/analysis_commands.h"

#include <fmt/format.h>

#include <iostream>

#include "cli/cli.h"
#include "cli/parsed_flags.h"
#include "cli/trace_input.h"
#include "ferry/units.h"
#include "heat/profile.h"
#include "predict/predictor.h"
#include "report/heat_report.h"
#include "report/html.h"
#include "report/sim_report.h"
#include "sim/simulator.h"

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

  const report::HeatRunInfo run{a.in.path, t->device, a.window, a.slide, a.report};
  if (!a.report.empty()) {
    const std::string what = fmt::format("{} (device {}): {} events over {:.1f} s", report::Escape(a.in.path),
                                         t->device, prof.events, prof.span_s);
    if (Status s = WriteFile(a.report, report::HeatReport("ferry heat: " + a.in.path, what, prof, o)); !s.ok()) {
      return Fail(kExitFailure, s.message());
    }
  }
  std::cout << (a.json ? report::HeatJson(run, prof, o) + "\n" : report::HeatText(run, prof, o)) << std::flush;
  return kExitOk;
}

// ---- ferry simulate --------------------------------------------------------------

struct SimArgs {
  TraceInput in;
  HistoryInput history;
  std::string policy = "all";
  std::string predictor, model;
  std::string granule = "64K", min_chunk, max_chunk = "2M", source_latency = "2ms", source_bw, dest_latency = "100us";
  std::string source_link = "fifo", source_burst, source_burst_bw;
  std::string warmup = "25%", volume_size, source, rate, latency_target, min_rate;
  double time_scale = 1.0;
  int requests = SimScenario{}.max_in_flight, source_threads = 0;
  std::string report;
  bool json = false;
};

// The scenario and the runs (policy and predictor) of `ferry simulate` from its arguments
// (the predictors' names and model checked before any trace is read): kExitOk, or the
// exit code of the error it printed.
int SimulateSetup(const SimArgs& a, SimScenario* s, std::vector<PolicyChoice>* runs) {
  ParsedFlags p;
  p.Size(a.granule, "--granule", &s->granule_size);
  p.Size(a.max_chunk, "--max-chunk", &s->max_chunk);
  p.Duration(a.source_latency, "--source-latency", &s->source_latency);
  p.Size(a.source_bw, "--source-bw", &s->source_bw);
  p.Size(a.rate, "--rate", &s->rate);
  p.Duration(a.latency_target, "--latency-target", &s->latency_target);
  p.Size(a.min_rate, "--min-rate", &s->min_rate);
  p.Duration(a.dest_latency, "--dest-latency", &s->dest_latency);
  s->shared_link = a.source_link == "shared";
  p.Duration(a.source_burst, "--source-burst", &s->source_burst);
  p.Size(a.source_burst_bw, "--source-burst-bw", &s->source_burst_bw);
  p.Share(a.warmup, "--warmup", &s->warmup);
  p.Size(a.volume_size, "--volume-size", &s->volume_size);
  s->min_chunk = s->granule_size;
  p.Size(a.min_chunk, "--min-chunk", &s->min_chunk);
  if (!p.status.ok()) return Fail(kExitUsage, p.status.message());
  s->time_scale = a.time_scale;
  s->max_in_flight = a.requests;
  s->source_threads = a.source_threads;
  auto r = SimulationRuns(a.policy, a.predictor, a.model);
  if (!r.ok()) {
    const bool unknown = r.status().message().rfind("unknown predictor", 0) == 0;
    return Fail(kExitUsage, r.status().message() + (unknown ? " (or all)" : ""));
  }
  *runs = std::move(r).value();
  for (const PolicyChoice& run : *runs) {  // a model that cannot be loaded, a build without the LSTM
    if (auto made = MakePredictor(run.predictor, {run.model, s->granule_size}); !made.ok()) return FailPredictor(made.status());
  }
  if (!a.source.empty()) {
    if (Status v = ReadScenarioSource(a.source, s); !v.ok()) return Fail(kExitFailure, v.WithContext("--source").message());
  }
  if (Status h = CheckHistoryInput(a.history); !h.ok()) return Fail(kExitUsage, h.message());
  return kExitOk;
}

// The text output of `ferry simulate`: the scenario, then one row per result.
int RunSimulate(SimArgs& a) {
  SimScenario s;
  std::vector<PolicyChoice> runs;
  if (int code = SimulateSetup(a, &s, &runs); code != kExitOk) return code;
  auto t = LoadTraceInput(a.in);
  if (!t.ok()) return Fail(TraceExitCode(a.in), t.status().message());
  if (!a.history.paths.empty()) {
    auto h = LoadHistoryInput(a.history);
    if (!h.ok()) return Fail(kExitFailure, h.status().WithContext("--history").message());
    s.history_events = PrependHistory(std::move(h).value(), &t->events);
  }
  auto r = ResolveScenario(t->events, s);
  if (!r.ok()) return Fail(kExitUsage, r.status().message());
  if (r->clipped_events) {
    std::cerr << fmt::format("ferry: {} events lie beyond --volume-size and are ignored\n", r->clipped_events);
  }
  std::vector<SimResult> results;
  for (const PolicyChoice& c : runs) {
    SimOptions so;
    so.predictor = c.predictor;
    so.model = c.model;
    results.push_back(Simulate(t->events, *r, c.policy, so));
  }
  const report::SimRunInfo run{a.in.path, t->device, a.source_latency, a.dest_latency, a.source};
  if (!a.report.empty()) {
    if (Status st = WriteFile(a.report, report::SimulateReport(run, *r, results)); !st.ok()) {
      return Fail(kExitFailure, st.message());
    }
  }
  std::cout << (a.json ? report::SimulateJson(run, *r, results) + "\n" : report::SimulateText(run, *r, results));
  std::cout << (!a.json && !a.report.empty() ? "report: " + a.report + "\n" : "") << std::flush;
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
  c->add_option("--predictor", a->predictor, "none (the default), stride, markov, lstm, ensemble (all three), members "
                                              "joined by + (stride+markov), or all: predictions become prefetches "
                                              "for the adaptive and heat policies")
      ->option_text("NAME");
  c->add_option("--model", a->model, "start the LSTM from this model (ferry train) instead of training it on the "
                                      "warm-up")
      ->option_text("FILE");
  c->add_option("--granule", a->granule, "tracking unit (default: 64K)")->option_text("SIZE");
  c->add_option("--min-chunk", a->min_chunk, "smallest copy (default: the granule)")->option_text("SIZE");
  c->add_option("--max-chunk", a->max_chunk, "largest copy (default: 2M)")->option_text("SIZE");
  c->add_option("--source-latency", a->source_latency, "per request (default: 2ms)")->option_text("DURATION");
  c->add_option("--source-bw", a->source_bw, "bytes/s shared by all copies (default: a bare copy takes half the "
                                              "migration window)")->option_text("SIZE");
  c->add_option("--source-threads", a->source_threads, "requests the source's server works on at once, the rest "
                "waiting (nbdkit's --threads: 16; default: any number)")->option_text("N")->check(CLI::Range(0, 1 << 20));
  c->add_option("--source-link", a->source_link, "fifo: requests cross the link first come first served (the "
                                                  "default); shared: each request on it gets its share of the "
                                                  "bandwidth, so a small read passes the copies (nbdkit's rate filter)")
      ->option_text("MODE")->check(CLI::IsMember({"fifo", "shared"}));
  c->add_option("--source-burst", a->source_burst, "a token bucket holding DURATION of the link's bandwidth, full at "
                "the start, refilled while the link is idle (nbdkit's rate filter: 2s; default: none)")->option_text("DURATION");
  c->add_option("--source-burst-bw", a->source_burst_bw, "bytes/s the bucket's bytes cross at (default: at once)")->option_text("SIZE");
  c->add_option("--dest-latency", a->dest_latency, "per request (default: 100us)")->option_text("DURATION");
  c->add_option("--rate", a->rate, "pace background and prefetch copies to SIZE bytes/s, as ferry serve --rate "
                                   "does (demands are not held back; default: unpaced)")->option_text("SIZE");
  AddHistoryOptions(c, &a->history, "observed before the trace, as ferry serve --history would (then give "
                                   "--warmup 0 to start the migration with the trace)");
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
