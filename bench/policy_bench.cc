// Micro-benchmarks of the policy half (issue 3's targets): heat-map ingest (at least
// 20 M events/s on one core), the simulator with --policy adaptive (at least 2 M trace
// events/s), and re-planning the chunk map of a 16 TiB volume (under 100 ms); and
// issue 4's: each predictor's cost per event, and an LSTM training epoch.
// Run: build/policy_bench (bench/README.md); each prints its rate beside the target.
#include <benchmark/benchmark.h>

#include <time.h>

#include <algorithm>
#include <random>

#include "heat/heat_map.h"
#include "plan/chunk_map.h"
#include "plan/chunk_planner.h"
#include "predict/lstm.h"
#include "predict/predictor.h"
#include "sim/simulator.h"
#include "trace/synth.h"

namespace ferry {
namespace {

std::vector<IoEvent> Workload(double iops, std::chrono::seconds duration, uint64_t volume) {
  SynthOptions o;
  o.volume_size = volume;
  o.iops = iops;
  o.duration = duration;
  o.hot_size = volume / 16;
  auto r = NewSyntheticTrace(o);
  std::vector<IoEvent> ev;
  IoEvent e;
  while ((*r)->Next(&e).value()) ev.push_back(e);
  return ev;
}

// 1 M events of the default synthetic mix (4 KiB hot/random, 128 KiB streams) over
// 100 s on a 64 GiB volume, recorded into a 60 s / 5 s heat map.
void BM_HeatIngest(benchmark::State& state) {
  const auto ev = Workload(10000, std::chrono::seconds(100), 64ull << 30);
  for (auto _ : state) {
    HeatMap heat(HeatOptions{});
    for (const IoEvent& e : ev) heat.Record(e);
    benchmark::DoNotOptimize(heat.touched());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * ev.size()));
  state.counters["target_events_per_s"] = 20e6;
}
BENCHMARK(BM_HeatIngest)->Unit(benchmark::kMillisecond);

// The heat the scheduler re-plans from (HeatMap::Snapshot) after BM_HeatIngest's events:
// argument 0, the access counts; 1, weighted by age (the scheduler's default half-life,
// a third of the window), which sums the window's slots again.
void BM_HeatSnapshot(benchmark::State& state) {
  const auto ev = Workload(10000, std::chrono::seconds(100), 64ull << 30);
  HeatOptions o;
  if (state.range(0)) o.half_life = o.window / 3;
  HeatMap heat(o);
  for (const IoEvent& e : ev) heat.Record(e);
  size_t touched = 0;
  for (auto _ : state) {
    auto s = heat.Snapshot(/*sorted=*/false);
    touched = s.size();
    benchmark::DoNotOptimize(s.data());
  }
  state.counters["touched"] = static_cast<double>(touched);
}
BENCHMARK(BM_HeatSnapshot)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// The simulator, --policy adaptive, on 400 K synthetic events (2,000/s for 200 s on a
// 16 GiB volume), default scenario.
void BM_SimulateAdaptive(benchmark::State& state) {
  auto ev = Workload(2000, std::chrono::seconds(200), 16ull << 30);
  auto sc = ResolveScenario(ev, SimScenario{});
  for (auto _ : state) {
    SimResult r = Simulate(ev, *sc, Policy::kAdaptive);
    benchmark::DoNotOptimize(r.read_stalls);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * ev.size()));
  state.counters["target_events_per_s"] = 2e6;
}
BENCHMARK(BM_SimulateAdaptive)->Unit(benchmark::kMillisecond);

// Re-planning a 16 TiB volume at 64 KiB granules (256 M granules) half copied (every
// other GiB present), with 100 K or 1 M touched granules (6 or 61 GiB) in the heat
// window, scattered at random.
void BM_Replan16TiB(benchmark::State& state) {
  constexpr uint64_t kVolume = 16ull << 40, kG = 64 << 10;
  ChunkMap map(kVolume, kG);
  for (uint64_t off = 0; off < kVolume; off += 2ull << 30) {
    map.Set({GranuleIndex(off / kG), (1ull << 30) / kG}, GranuleState::kPresent);
  }
  std::mt19937_64 rng(1);
  std::vector<GranuleHeat> heat;
  for (int64_t i = 0; i < state.range(1); ++i) {
    const auto count = static_cast<uint32_t>(1 + rng() % 50);
    heat.push_back({rng() % map.granule_count(), count, static_cast<double>(count)});
  }
  std::sort(heat.begin(), heat.end(), [](const auto& a, const auto& b) { return a.granule < b.granule; });
  heat.erase(std::unique(heat.begin(), heat.end(), [](const auto& a, const auto& b) { return a.granule == b.granule; }),
             heat.end());
  if (state.range(0) == 0) std::shuffle(heat.begin(), heat.end(), rng);  // as a HeatMap hands it over
  ChunkPlanner planner(map, PlanOptions{});
  for (auto _ : state) {
    planner.Replan(heat);
    benchmark::DoNotOptimize(planner.hot_order().size());
  }
  state.counters["target_ms"] = 100;
  state.counters["heated_regions"] = static_cast<double>(planner.hot_order().size());
}
// First argument 0: the heat in hash order (as the scheduler passes it, so grouping is
// part of the cost); 1: already in granule order. Second: touched granules.
BENCHMARK(BM_Replan16TiB)->Args({0, 100000})->Args({0, 1000000})->Args({1, 1000000})->Unit(benchmark::kMillisecond);

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Predictor cost per event in CPU time (issue 4: stride and markov under 1 us, the LSTM under 20 us,
// training excluded), on 400 K events of the synthetic mix (its streams give stride
// something to follow). The LSTM (alone or in the ensemble) retrains inline here, and
// its training CPU time is taken out of the per-event figure and shown apart.
void BM_Predict(benchmark::State& state, const char* name) {
  const auto ev = Workload(2000, std::chrono::seconds(200), 16ull << 30);
  std::vector<Prediction> out;
  double observe_s = 0, train_s = 0;
  PredictorConfig config;
  config.background_training = false;
  for (auto _ : state) {
    auto p = MakePredictor(name, config).value();
    const double t0 = ThreadCpuSeconds();
    for (const IoEvent& e : ev) {
      out.clear();
      p->Observe(e.offset >> 16, (e.offset + e.length - 1) >> 16, e.op, &out);
      benchmark::DoNotOptimize(out.data());
    }
    observe_s += ThreadCpuSeconds() - t0;
    train_s += p->train_cpu_s();
  }
  const double events = static_cast<double>(state.iterations()) * static_cast<double>(ev.size());
  state.SetItemsProcessed(static_cast<int64_t>(events));
  state.counters["ns_per_event"] = (observe_s - train_s) / events * 1e9;
  state.counters["train_cpu_s"] = train_s / static_cast<double>(state.iterations());
  state.counters["target_ns_per_event"] = std::string(name) == "stride" || std::string(name) == "markov" ? 1000 : 20000;
}
BENCHMARK_CAPTURE(BM_Predict, stride, "stride")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Predict, markov, "markov")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Predict, lstm, "lstm")->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK_CAPTURE(BM_Predict, ensemble, "ensemble")->Unit(benchmark::kMillisecond)->Iterations(1);

// One LSTM training epoch over 100 K accesses of the synthetic mix (the default model:
// 256 tokens, 32 embedding, 64 hidden, windows of 32, batches of 32), one core.
void BM_LstmTrainEpoch(benchmark::State& state) {
  const auto ev = Workload(1000, std::chrono::seconds(100), 16ull << 30);
  LstmOptions o;
  o.epochs = 1;
  o.retrain_every = 0;
  o.background = false;
  auto p = NewLstmPredictor(o).value();
  std::vector<Prediction> out;
  for (const IoEvent& e : ev) p->Observe(e.offset >> 16, (e.offset + e.length - 1) >> 16, e.op, &out);
  double cpu = 0;
  size_t tokens = 0;
  for (auto _ : state) {
    const std::vector<LstmEpoch> r = TrainLstmEpochs(*p);
    cpu += r.at(0).cpu_s;
    tokens = r.at(0).tokens;
  }
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["cpu_s_per_epoch"] = cpu / static_cast<double>(state.iterations());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * tokens));
}
BENCHMARK(BM_LstmTrainEpoch)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace ferry

BENCHMARK_MAIN();
