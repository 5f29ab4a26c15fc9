// The heat report (see heat_report.h).
#include "report/heat_report.h"

#include <fmt/format.h>

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

}  // namespace ferry::report
