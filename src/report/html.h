// Self-contained HTML reports with inline SVG charts (DESIGN.md module `report`): no
// scripts, no external files, readable offline. Used by `ferry heat` and
// `ferry simulate`.
#pragma once

#include <cmath>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ferry/status.h"

namespace ferry::report {

// Escapes &, <, >, " for HTML text and attributes.
std::string Escape(std::string_view text);

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), ascending x
};

struct ChartOptions {
  std::string title, x_label, y_label;
  bool log_x = false;   // x must be > 0
  bool step = false;    // draw as a step function (CDFs, binned counts)
  double y_min = NAN, y_max = NAN;  // NaN: from the data
  int width = 760, height = 300;
};

// The options of a latency CDF: log-scale microseconds against a share from 0 to 1.
ChartOptions LatencyCdfOptions(std::string title, std::string y_label);

// A line chart of one or more series with axes, ticks and a legend, as an <svg>.
std::string LineChart(const std::vector<Series>& series, const ChartOptions& options);

// A grid of non-negative values drawn as coloured cells (white = 0, dark red = the
// maximum, on a logarithmic scale); row 0 at the top.
struct Grid {
  size_t rows = 0, cols = 0;
  std::vector<double> cells;  // row-major, rows * cols
  std::string title, x_label, y_label;
  double x_min = 0, x_max = 1;  // the axis values of the columns' outer edges
  double y_min = 0, y_max = 1;  // of the rows' outer edges (y_min at the top)
  std::string x_unit, y_unit;   // appended to tick labels
};
std::string HeatGrid(const Grid& grid);

// An HTML table; cells are escaped.
std::string Table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

// Writes `text` to `path` (created or truncated); kInvalidArgument naming the path.
Status WriteFile(const std::string& path, const std::string& text);

// A complete page around `body` (already HTML), with a small inline stylesheet.
std::string Page(std::string_view title, std::string_view body);

}  // namespace ferry::report
