#include "report/html.h"
#include "report/live_report.h"

#include <fmt/format.h>

#include "common/latency_histogram.h"

#include <gtest/gtest.h>

namespace ferry::report {
namespace {

TEST(ReportTest, EscapesMarkup) { EXPECT_EQ(Escape("<a href=\"x\">&</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"); }

TEST(ReportTest, LineChartDrawsEverySeriesWithItsName) {
  ChartOptions o;
  o.title = "t<1>";
  std::string svg = LineChart({{"alpha", {{0, 0}, {1, 2}}}, {"beta", {{0, 1}, {1, 1}}}}, o);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("alpha"), std::string::npos);
  EXPECT_NE(svg.find("beta"), std::string::npos);
  EXPECT_NE(svg.find("t&lt;1&gt;"), std::string::npos);
  EXPECT_EQ(std::count(svg.begin(), svg.end(), 'M'), 2);  // one path per series
}

TEST(ReportTest, ALongLegendNameWidensTheChartRatherThanBeingCutOff) {
  ChartOptions o;
  const std::string short_svg = LineChart({{"rate", {{0, 0}, {1, 2}}}}, o);
  EXPECT_NE(short_svg.find(fmt::format("width=\"{}\"", o.width)), std::string::npos);
  const std::string name(60, 'x');
  const std::string svg = LineChart({{name, {{0, 0}, {1, 2}}}}, o);
  const size_t at = svg.find("width=\"") + 7;
  const int width = std::stoi(svg.substr(at));
  // The plot ends 150 px before the default width; the name starts 32 px past the plot.
  EXPECT_GE(width, o.width - 150 + 32 + 6 * 60);
}

TEST(ReportTest, LogAxisSkipsNonPositiveValuesAndEmptyChartsStillRender) {
  ChartOptions o;
  o.log_x = true;
  std::string svg = LineChart({{"a", {{0, 0}, {10, 1}, {1000, 2}}}}, o);
  EXPECT_NE(svg.find(">1000<"), std::string::npos);
  EXPECT_NE(LineChart({}, ChartOptions{}).find("</svg>"), std::string::npos);
}

TEST(ReportTest, HeatGridColoursOnlyNonZeroCells) {
  Grid g;
  g.rows = 2;
  g.cols = 2;
  g.cells = {0, 1, 0, 100};
  std::string svg = HeatGrid(g);
  // Two coloured cells plus the frame.
  size_t rects = 0;
  for (size_t p = svg.find("<rect"); p != std::string::npos; p = svg.find("<rect", p + 1)) ++rects;
  EXPECT_EQ(rects, 3u);
}

TEST(ReportTest, PageIsSelfContained) {
  std::string p = Page("ferry", Table({"a"}, {{"<1>"}}));
  EXPECT_NE(p.find("&lt;1&gt;"), std::string::npos);
  EXPECT_EQ(p.find("<script"), std::string::npos);
  EXPECT_EQ(p.find("http://www.w3.org/1999"), std::string::npos);
  EXPECT_EQ(p.find("src="), std::string::npos);
}

}  // namespace
}  // namespace ferry::report

namespace ferry::report {
namespace {

TEST(LiveReportTest, NamesTheRunAndDrawsItsChartsAndMaps) {
  LiveStats st;
  st.volume_size = 1 << 30;
  st.present_bytes = 1 << 29;
  st.reads = 10;
  st.read_stalls = 2;
  st.seconds = 3;
  LiveHistory h;
  h.volume_size = st.volume_size;
  h.map_bins = 4;
  for (int i = 0; i < 3; ++i) {
    LiveRow r;
    r.start_s = i;
    r.end_s = i + 1;
    r.present_bytes = static_cast<uint64_t>(i + 1) << 27;
    r.background_bytes = 1 << 27;
    r.reads = 3;
    r.read_latency.assign(LatencyHistogram::kBuckets, 0);
    r.read_latency[LatencyHistogram::Bucket(std::chrono::microseconds(300))] = 3;
    LatencyHistogram::Merge(h.read_latency, r.read_latency);
    r.io_map = {0, 4096, 0, 0};
    r.copy_map = {1 << 27, 0, 0, 0};
    h.rows.push_back(r);
  }
  const std::string html = LiveReport({"nbd://src<1>", "dst.img", "j", "adaptive", "ensemble"}, st, h);
  EXPECT_NE(html.find("nbd://src&lt;1&gt;"), std::string::npos);
  EXPECT_NE(html.find("Stopped before the end"), std::string::npos);
  EXPECT_NE(html.find("2 (20.0%)"), std::string::npos);  // reads that waited
  EXPECT_NE(html.find("Request latency CDF"), std::string::npos);
  EXPECT_NE(html.find("The application's I/O"), std::string::npos);
  EXPECT_NE(html.find("predictor precision"), std::string::npos);
  EXPECT_EQ(std::count(html.begin(), html.end(), '<') - std::count(html.begin(), html.end(), '>'), 0);
  // p50 of 300 us reads shows as about 300 us.
  const double p50 = LatencyHistogram::Percentile(h.read_latency, 0.5);
  EXPECT_NE(html.find(fmt::format("{:.0f} us", p50)), std::string::npos);
}

}  // namespace
}  // namespace ferry::report
