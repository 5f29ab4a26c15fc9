// The live migration report (see live_report.h).
#include "report/live_report.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/latency_histogram.h"
#include "ferry/units.h"
#include "report/html.h"

namespace ferry::report {
namespace {

double MiB(uint64_t b) { return static_cast<double>(b) / (1 << 20); }
double GiB(uint64_t b) { return static_cast<double>(b) / (1ull << 30); }

std::string Micros(double us) { return us >= 1000 ? fmt::format("{:.2f} ms", us / 1000) : fmt::format("{:.0f} us", us); }

// The latency CDF of a histogram snapshot: one point per non-empty bucket.
Series Cdf(const std::string& name, const std::vector<uint64_t>& counts) {
  Series s{name, {}};
  uint64_t total = 0, seen = 0;
  for (uint64_t c : counts) total += c;
  for (size_t i = 0; i < counts.size() && total; ++i) {
    if (!counts[i]) continue;
    seen += counts[i];
    s.points.emplace_back(std::max(1.0, LatencyHistogram::BucketMicros(static_cast<int>(i))),
                          static_cast<double>(seen) / static_cast<double>(total));
  }
  return s;
}

// A map of the volume over time: a row per offset bin, a column per history row.
Grid VolumeMap(const LiveHistory& h, std::vector<uint64_t> LiveRow::*map, const std::string& title) {
  Grid g;
  g.rows = h.map_bins;
  g.cols = h.rows.size();
  g.cells.assign(g.rows * g.cols, 0);
  for (size_t c = 0; c < g.cols; ++c) {
    const auto& m = h.rows[c].*map;
    for (size_t r = 0; r < std::min(g.rows, m.size()); ++r) g.cells[r * g.cols + c] = static_cast<double>(m[r]);
  }
  g.title = title;
  g.x_label = "seconds since the start";
  g.y_label = "offset (GiB)";
  g.x_max = h.rows.empty() ? 1 : h.rows.back().end_s;
  g.y_max = GiB(h.volume_size);
  return g;
}

// The application's requests: counts, waits and latency percentiles.
std::string RequestsSection(const LiveStats& st, const LiveHistory& h) {
  auto pcts = [](const std::vector<uint64_t>& c) {
    return std::vector<std::string>{Micros(LatencyHistogram::Percentile(c, 0.5)), Micros(LatencyHistogram::Percentile(c, 0.9)),
                                    Micros(LatencyHistogram::Percentile(c, 0.99)), Micros(LatencyHistogram::Percentile(c, 0.999)),
                                    Micros(LatencyHistogram::Percentile(c, 1.0))};
  };
  std::vector<std::string> rrow = {"reads", std::to_string(st.reads),
                                   fmt::format("{} ({:.1f}%): {} first touches, {} seen before; {} answered from kept read-throughs", st.read_stalls,
                                               st.reads ? 100.0 * static_cast<double>(st.read_stalls) / static_cast<double>(st.reads) : 0.0,
                                               st.read_stalls_first_touch, st.read_stalls_seen, st.reads_kept)};
  std::vector<std::string> wrow = {"writes", std::to_string(st.writes), fmt::format("{} ({:.1f}%)", st.write_stalls,
                                   st.writes ? 100.0 * static_cast<double>(st.write_stalls) / static_cast<double>(st.writes) : 0.0)};
  for (auto& s : pcts(h.read_latency)) rrow.push_back(s);
  for (auto& s : pcts(h.write_latency)) wrow.push_back(s);
  return "<h2>The application's requests</h2>" +
         Table({"requests", "count", "waited", "p50", "p90", "p99", "p99.9", "max"}, {rrow, wrow}) +
         "<p class=note>Latency is the time a request spent in ferry (the destination's I/O included, the network "
         "not). A read waited when some of its data was not on the destination yet and came from the source; a write "
         "waited for a copy of its granules in flight, or for the partly written ends to be brought in. A first touch "
         "is a read of data never accessed before (in the history or this run): only a prediction could have "
         "copied it in time; a read seen before waited for data the workload had shown it uses.</p>";
}

// The copy: bytes by kind, the predictor's figures, errors and source outages.
std::string CopySection(const LiveRunInfo& info, const LiveStats& st, const LiveHistory& h) {
  std::vector<std::vector<std::string>> copy_rows = {
      {"on demand (a request waited)", FormatSize(st.demand_bytes)},
      {"queued on the predictor's word", FormatSize(st.predicted_bytes)},
      {"copied from the source this run (data, not holes)", FormatSize(st.bytes_copied)},
      {"present from the journal at the start", FormatSize(st.bytes_resumed)},
  };
  if (!st.predictor_error.empty()) {
    copy_rows.push_back({"the predictor could not start (no predictions)", st.predictor_error});
  } else if (info.predictor != "none") {
    copy_rows.push_back({"predictor precision / recall / timeliness",
                         fmt::format("{:.3f} / {:.3f} / {:.3f}", st.precision, st.recall, st.timeliness)});
    copy_rows.push_back({"reads a prediction saved from waiting (prevented stalls)", std::to_string(st.prevented_stalls)});
  }
  if (st.copy_errors) copy_rows.push_back({"copies failed", fmt::format("{} (last: {})", st.copy_errors, st.last_error)});
  if (st.read_errors) copy_rows.push_back({"reads the source failed (EIO to the client)", std::to_string(st.read_errors)});
  if (st.source.outages) {
    copy_rows.push_back({"source connection lost", fmt::format("{} times, {:.1f} s without it in all{}", st.source.outages,
                                                               st.source.down_seconds,
                                                               st.source.down_now_seconds > 0 ? " (lost at the end)" : "")});
    constexpr size_t kListed = 10;
    for (size_t i = 0; i < h.outages.size() && i < kListed; ++i) {
      const LiveHistory::Outage& out = h.outages[i];
      copy_rows.push_back({fmt::format("source lost, {}", i + 1),
                           fmt::format("at {:.1f} s for {:.1f} s{}", out.start_s, out.seconds,
                                       out.ongoing ? " (still lost at the end)" : "")});
    }
    if (h.outages.size() > kListed) {
      copy_rows.push_back({"", fmt::format("and {} more", h.outages.size() - kListed)});
    }
  }
  return "<h2>The copy</h2>" + Table({"", ""}, copy_rows);
}

ChartOptions TimeChart(const std::string& title, const std::string& y_label) {
  ChartOptions o;
  o.x_label = "seconds since the start";
  o.y_min = 0;
  o.title = title;
  o.y_label = y_label;
  return o;
}

// Progress, copy rates, request rates and read p99, interval by interval.
std::string TimelineCharts(const LiveStats& st, const LiveHistory& h) {
  Series progress{"present", {{0, 0}}}, demand{"demand", {}}, prefetch{"prefetch", {}}, background{"background", {}};
  Series reads{"reads", {}}, stalls{"reads that waited", {}}, writes{"writes", {}}, p99{"read p99", {}};
  if (st.volume_size) {  // at the start: what the journal held (a row's present_bytes is at its end)
    progress.points.front().second = 100.0 * static_cast<double>(st.bytes_resumed) / static_cast<double>(st.volume_size);
  }
  for (const LiveRow& r : h.rows) {
    const double dt = std::max(1e-3, r.end_s - r.start_s), t = r.end_s;
    if (st.volume_size) progress.points.emplace_back(t, 100.0 * static_cast<double>(r.present_bytes) / static_cast<double>(st.volume_size));
    demand.points.emplace_back(t, MiB(r.demand_bytes) / dt);
    prefetch.points.emplace_back(t, MiB(r.prefetch_bytes) / dt);
    background.points.emplace_back(t, MiB(r.background_bytes) / dt);
    reads.points.emplace_back(t, static_cast<double>(r.reads) / dt);
    stalls.points.emplace_back(t, static_cast<double>(r.read_stalls) / dt);
    writes.points.emplace_back(t, static_cast<double>(r.writes) / dt);
    if (r.reads) p99.points.emplace_back(t, LatencyHistogram::Percentile(r.read_latency, 0.99) / 1000);
  }
  if (!h.rows.empty()) progress.points.front().first = h.rows.front().start_s;
  ChartOptions o = TimeChart("Progress", "% of the volume present");
  o.y_max = 100;
  std::string out = LineChart({progress}, o);
  out += LineChart({demand, prefetch, background}, TimeChart("Copy rate by kind (bytes made present)", "MiB/s"));
  out += LineChart({reads, stalls, writes}, TimeChart("Requests", "per second"));
  if (!p99.points.empty()) out += LineChart({p99}, TimeChart("Read p99 per interval", "ms"));
  return out;
}

// The source link as the engine modelled it (DESIGN.md "The source link"), and where
// the application's I/O and the copies fell.
std::string LinkCharts(const LiveHistory& h) {
  Series base{"base latency", {}}, queue{"queueing delay (application reads)", {}}, target{"latency target", {}};
  Series rate{"delivery rate", {}}, through{"read-through (application reads from the source)", {}};
  Series in_flight{"copy bytes in flight", {}}, budget{"budget", {}};
  for (const LiveRow& r : h.rows) {
    const double dt = std::max(1e-3, r.end_s - r.start_s), t = r.end_s;
    base.points.emplace_back(t, r.link.base_latency_ms);
    queue.points.emplace_back(t, r.link.queue_delay_ms);
    target.points.emplace_back(t, r.link.latency_target_ms);
    rate.points.emplace_back(t, MiB(static_cast<uint64_t>(r.link.delivery_rate)));
    through.points.emplace_back(t, MiB(r.read_through_bytes) / dt);
    in_flight.points.emplace_back(t, MiB(r.link.copy_in_flight));
    budget.points.emplace_back(t, MiB(r.link.budget));
  }
  std::string out = LineChart({base, queue, target}, TimeChart("Source link: latency (sampled each interval)", "ms"));
  out += LineChart({rate, through}, TimeChart("Source link: delivery rate and read-through rate", "MiB/s"));
  out += LineChart({in_flight, budget},
                   TimeChart("Source link: copy bytes in flight and the controller's budget (sampled each interval)", "MiB"));
  out += HeatGrid(VolumeMap(h, &LiveRow::io_map, "The application's I/O (bytes) by offset and time"));
  out += HeatGrid(VolumeMap(h, &LiveRow::copy_map, "Copies (bytes made present) by offset and time"));
  return out;
}

}  // namespace

std::string LiveReport(const LiveRunInfo& info, const LiveStats& st, const LiveHistory& h) {
  std::string body = fmt::format(
      "<p>{} to {} (journal {}), volume {}, policy {}, predictor {}. {} after {:.1f} s: {} present ({:.1f}%).</p>",
      Escape(info.source), Escape(info.destination), Escape(info.journal), FormatSize(st.volume_size),
      Escape(info.policy), Escape(info.predictor), st.complete ? "Migration complete" : "Stopped before the end",
      MigrationSeconds(st), FormatSize(st.present_bytes), PercentPresent(st));
  body += RequestsSection(st, h);
  body += CopySection(info, st, h);
  std::vector<Series> cdf;
  if (st.reads) cdf.push_back(Cdf("reads", h.read_latency));
  if (st.writes) cdf.push_back(Cdf("writes", h.write_latency));
  if (!cdf.empty()) body += LineChart(cdf, LatencyCdfOptions("Request latency CDF (time in ferry)", "share of requests"));
  body += TimelineCharts(st, h);
  if (!h.rows.empty()) body += LinkCharts(h);
  body += "<p class=note>demand: copies a waiting request made; prefetch: copies the predictor or a client's cache "
          "hint asked for; background: the policy's order. Holes and zero blocks of the source count as made "
          "present without being read.</p>";
  return Page("ferry serve: " + info.source + " to " + info.destination, body);
}

}  // namespace ferry::report
