#include "report/html.h"

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
