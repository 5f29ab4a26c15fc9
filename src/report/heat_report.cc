// The heat report (see heat_report.h).
#include "report/heat_report.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ferry/units.h"
#include "report/html.h"

namespace ferry::report {
namespace {
double GiB(uint64_t b) { return static_cast<double>(b) / (1ull << 30); }
}  // namespace

std::string HeatReport(const std::string& title, const std::string& what, const HeatProfile& p,
                       const HeatProfileOptions& o) {
  std::string body = fmt::format(
      "<p>{}, volume {}; granule {}, window {:.0f} s sliding by {:.0f} s; hot = {}.</p>", what, FormatSize(p.volume_size), FormatSize(o.heat.granule_size),
      std::chrono::duration<double>(o.heat.window).count(), std::chrono::duration<double>(o.heat.slide).count(),
      o.hot_count ? fmt::format("{} or more accesses in the window", o.hot_count)
                  : fmt::format("the top {:.0f}% of touched granules by accesses in the window", 100 * (1 - o.hot_quantile)));
  Grid g;
  g.rows = static_cast<size_t>(p.rows);
  g.cols = static_cast<size_t>(p.cols);
  g.cells = p.grid;
  g.title = "Accesses by offset and time";
  g.x_label = "time (s)";
  g.y_label = "offset (GiB)";
  g.x_max = p.span_s > 0 ? p.span_s : 1;
  g.y_max = GiB(p.volume_size);
  body += HeatGrid(g);
  Series hot{"hot", {}}, warm{"warm", {}}, cold{"cold", {}};
  for (const auto& c : p.classes) {
    hot.points.emplace_back(c.time_s, GiB(c.hot_bytes));
    warm.points.emplace_back(c.time_s, GiB(c.warm_bytes));
    cold.points.emplace_back(c.time_s, GiB(c.cold_bytes));
  }
  ChartOptions co;
  co.title = "Hot and warm bytes in the sliding window";
  co.x_label = "time (s)";
  co.y_label = "GiB";
  co.y_min = 0;
  body += LineChart({hot, warm}, co);
  co.title = "Cold bytes (not touched in the window)";
  body += LineChart({cold}, co);
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : p.hottest) {
    rows.push_back({FormatSize(r.offset) + fmt::format(" ({})", r.offset), FormatSize(r.length),
                    std::to_string(r.accesses), fmt::format("{:.1f}", r.per_granule)});
  }
  body += "<h2>Hottest ranges (whole trace)</h2>" + Table({"offset", "length", "accesses", "per granule"}, rows);
  return Page(title, body);
}


std::string HeatJson(const HeatRunInfo& run, const HeatProfile& prof, const HeatProfileOptions& o) {
  nlohmann::json classes = nlohmann::json::array(), hottest = nlohmann::json::array();
  for (const auto& c : prof.classes) {
    classes.push_back({{"time_s", c.time_s}, {"hot_bytes", c.hot_bytes}, {"warm_bytes", c.warm_bytes},
                       {"cold_bytes", c.cold_bytes}, {"hot_threshold", c.hot_threshold}});
  }
  for (const auto& r : prof.hottest) {
    hottest.push_back({{"offset", r.offset}, {"length", r.length}, {"accesses", r.accesses}, {"per_granule", r.per_granule}});
  }
  nlohmann::json j = {{"trace", run.trace}, {"device", run.device}, {"events", prof.events}, {"span_s", prof.span_s},
                      {"volume_size", prof.volume_size}, {"granule", o.heat.granule_size},
                      {"window_s", std::chrono::duration<double>(o.heat.window).count()},
                      {"slide_s", std::chrono::duration<double>(o.heat.slide).count()},
                      {"hot_share", 1 - o.hot_quantile}, {"hot_count", o.hot_count},
                      {"touched_bytes", prof.touched_granules * o.heat.granule_size},
                      {"classes", classes}, {"hottest_ranges", hottest}};
  if (!run.report.empty()) j["report"] = run.report;
  return j.dump();
}

std::string HeatText(const HeatRunInfo& run, const HeatProfile& prof, const HeatProfileOptions& o) {
  const ClassSample last = prof.classes.empty() ? ClassSample{} : prof.classes.back();
  uint64_t peak_hot = 0;
  double peak_t = 0;
  for (const auto& c : prof.classes) {
    if (c.hot_bytes > peak_hot) peak_hot = c.hot_bytes, peak_t = c.time_s;
  }
  std::string out = fmt::format("trace:     {} (device {}), {} events over {:.1f} s\n", run.trace, run.device,
                                prof.events, prof.span_s);
  out += fmt::format("volume:    {}; granule {}, window {}, slide {}\n", FormatSize(prof.volume_size),
                     FormatSize(o.heat.granule_size), run.window, run.slide);
  out += fmt::format("touched:   {} over the whole trace\n", FormatSize(prof.touched_granules * o.heat.granule_size));
  out += fmt::format("at the end: hot {}, warm {}, cold {} (hot = {} or more accesses in the window)\n",
                     FormatSize(last.hot_bytes), FormatSize(last.warm_bytes), FormatSize(last.cold_bytes),
                     last.hot_threshold);
  out += fmt::format("peak hot:  {} at {:.1f} s\n", FormatSize(peak_hot), peak_t);
  out += "hottest ranges:\n";
  for (const auto& r : prof.hottest) {
    out += fmt::format("  {:>12} +{:<10} {:>9} accesses ({:.1f} per granule)\n", FormatSize(r.offset),
                       FormatSize(r.length), r.accesses, r.per_granule);
  }
  if (!run.report.empty()) out += "report:    " + run.report + "\n";
  return out;
}

}  // namespace ferry::report
