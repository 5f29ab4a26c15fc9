// HTML and SVG building (see html.h).
#include "report/html.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>

namespace ferry::report {
namespace {

constexpr const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"};
constexpr int kLeft = 70, kRight = 150, kTop = 30, kBottom = 45;
// A legend name starts this far right of the plot; sans-serif at 11 px is at most about
// this wide a character, on average over a line of text.
constexpr int kLegendText = 32;
constexpr double kLegendCharWidth = 6.5;

std::string Num(double v) {
  if (v == 0) return "0";
  const double a = std::fabs(v);
  if (a >= 1e6 || a < 1e-3) return fmt::format("{:.2g}", v);
  if (a >= 100) return fmt::format("{:.0f}", v);
  if (a >= 10) return fmt::format("{:.1f}", v);
  return fmt::format("{:.3g}", v);
}

// About five round tick values spanning [lo, hi].
std::vector<double> Ticks(double lo, double hi) {
  std::vector<double> t;
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / 5;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  }
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) t.push_back(v);
  return t;
}

}  // namespace

std::string Escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

ChartOptions LatencyCdfOptions(std::string title, std::string y_label) {
  ChartOptions o;
  o.title = std::move(title);
  o.x_label = "latency (us, log scale)";
  o.y_label = std::move(y_label);
  o.log_x = true;
  o.step = true;
  o.y_min = 0;
  o.y_max = 1;
  return o;
}

namespace {
// A series' points as an SVG path through X and Y (steps when `step`).
template <typename FX, typename FY>
std::string SeriesPath(const Series& s, const ChartOptions& o, FX X, FY Y) {
  std::string path;
  double last_y = 0;
  bool first = true;
  for (auto [x, y] : s.points) {
    if (o.log_x && x <= 0) continue;
    if (first) {
      path += fmt::format("M{:.1f},{:.1f}", X(x), Y(y));
    } else {
      if (o.step) path += fmt::format(" L{:.1f},{:.1f}", X(x), Y(last_y));
      path += fmt::format(" L{:.1f},{:.1f}", X(x), Y(y));
    }
    first = false;
    last_y = y;
  }
  return path;
}
}  // namespace

std::string LineChart(const std::vector<Series>& series, const ChartOptions& o) {
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const auto& s : series) {
    for (auto [x, y] : s.points) {
      if (o.log_x && x <= 0) continue;
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  }
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (!std::isnan(o.y_min)) y0 = o.y_min;
  if (!std::isnan(o.y_max)) y1 = o.y_max;
  if (y1 <= y0) y1 = y0 + 1;
  if (o.log_x) {
    x0 = std::log10(x0), x1 = std::log10(x1);
  }
  if (x1 <= x0) x1 = x0 + 1;
  const int pw = o.width - kLeft - kRight, ph = o.height - kTop - kBottom;
  // The legend right of the plot: the SVG grows to hold its longest name (a browser
  // cuts off what lies outside the SVG's width).
  size_t longest = 0;
  for (const auto& s : series) longest = std::max(longest, s.name.size());
  const int legend = kLegendText + static_cast<int>(kLegendCharWidth * static_cast<double>(longest)) + 8;
  const int width = std::max(o.width, kLeft + pw + legend);
  auto X = [&](double x) { return kLeft + (((o.log_x ? std::log10(x) : x) - x0) / (x1 - x0)) * pw; };
  auto Y = [&](double y) { return kTop + ph - ((std::clamp(y, y0, y1) - y0) / (y1 - y0)) * ph; };

  std::string svg = fmt::format(R"s(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif" font-size="11">)s",
                                width, o.height);
  svg += fmt::format(R"s(<text x="{}" y="18" font-size="13" font-weight="bold">{}</text>)s", kLeft, Escape(o.title));
  svg += fmt::format(R"s(<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#999"/>)s", kLeft, kTop, pw, ph);
  for (double t : Ticks(y0, y1)) {
    svg += fmt::format(R"s(<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" stroke="#eee"/><text x="{}" y="{:.1f}" text-anchor="end">{}</text>)s",
                       kLeft, kLeft + pw, Y(t), Y(t), kLeft - 4, Y(t) + 4, Num(t));
  }
  if (o.log_x) {
    for (double e = std::ceil(x0); e <= x1; e += 1) {
      double v = std::pow(10, e);
      svg += fmt::format(R"s(<line x1="{0:.1f}" x2="{0:.1f}" y1="{1}" y2="{2}" stroke="#eee"/><text x="{0:.1f}" y="{3}" text-anchor="middle">{4}</text>)s",
                         X(v), kTop, kTop + ph, kTop + ph + 14, Num(v));
    }
  } else {
    for (double t : Ticks(x0, x1)) {
      svg += fmt::format(R"s(<line x1="{0:.1f}" x2="{0:.1f}" y1="{1}" y2="{2}" stroke="#eee"/><text x="{0:.1f}" y="{3}" text-anchor="middle">{4}</text>)s",
                         X(t), kTop, kTop + ph, kTop + ph + 14, Num(t));
    }
  }
  svg += fmt::format(R"s(<text x="{}" y="{}" text-anchor="middle">{}</text>)s", kLeft + pw / 2, o.height - 8, Escape(o.x_label));
  svg += fmt::format(R"s(<text transform="translate(14,{}) rotate(-90)" text-anchor="middle">{}</text>)s", kTop + ph / 2,
                     Escape(o.y_label));
  for (size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    const char* colour = kPalette[i % std::size(kPalette)];
    const std::string path = SeriesPath(s, o, X, Y);
    svg += fmt::format(R"s(<path d="{}" fill="none" stroke="{}" stroke-width="1.6"/>)s", path, colour);
    const int ly = kTop + 12 + static_cast<int>(i) * 16;
    svg += fmt::format(R"s(<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" stroke="{3}" stroke-width="3"/><text x="{4}" y="{5}">{6}</text>)s",
                       kLeft + pw + 10, kLeft + pw + 28, ly, colour, kLeft + pw + kLegendText, ly + 4, Escape(s.name));
  }
  svg += "</svg>";
  return svg;
}

std::string HeatGrid(const Grid& g) {
  const int width = 760, height = 360;
  const int pw = width - kLeft - 30, ph = height - kTop - kBottom;
  double max = 0;
  for (double v : g.cells) max = std::max(max, v);
  std::string svg = fmt::format(R"s(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif" font-size="11">)s",
                                width, height);
  svg += fmt::format(R"s(<text x="{}" y="18" font-size="13" font-weight="bold">{}</text>)s", kLeft, Escape(g.title));
  const double cw = static_cast<double>(pw) / static_cast<double>(std::max<size_t>(1, g.cols));
  const double ch = static_cast<double>(ph) / static_cast<double>(std::max<size_t>(1, g.rows));
  for (size_t r = 0; r < g.rows; ++r) {
    for (size_t c = 0; c < g.cols; ++c) {
      const double v = g.cells[r * g.cols + c];
      if (v <= 0) continue;
      // Log scale from white to dark red.
      const double t = max > 1 ? std::log1p(v) / std::log1p(max) : 1.0;
      const int red = static_cast<int>(255 - 115 * t), other = static_cast<int>(235 * (1 - t));
      svg += fmt::format(R"s(<rect x="{:.1f}" y="{:.1f}" width="{:.2f}" height="{:.2f}" fill="rgb({},{},{})"/>)s",
                         kLeft + c * cw, kTop + r * ch, cw + 0.3, ch + 0.3, red, other, other);
    }
  }
  svg += fmt::format(R"s(<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#999"/>)s", kLeft, kTop, pw, ph);
  for (double t : Ticks(g.x_min, g.x_max)) {
    const double x = kLeft + (t - g.x_min) / (g.x_max - g.x_min) * pw;
    svg += fmt::format(R"s(<text x="{:.1f}" y="{}" text-anchor="middle">{}{}</text>)s", x, kTop + ph + 14, Num(t), Escape(g.x_unit));
  }
  for (double t : Ticks(g.y_min, g.y_max)) {
    const double y = kTop + (t - g.y_min) / (g.y_max - g.y_min) * ph;
    svg += fmt::format(R"s(<text x="{}" y="{:.1f}" text-anchor="end">{}{}</text>)s", kLeft - 4, y + 4, Num(t), Escape(g.y_unit));
  }
  svg += fmt::format(R"s(<text x="{}" y="{}" text-anchor="middle">{}</text>)s", kLeft + pw / 2, height - 8, Escape(g.x_label));
  svg += fmt::format(R"s(<text transform="translate(14,{}) rotate(-90)" text-anchor="middle">{}</text>)s", kTop + ph / 2,
                     Escape(g.y_label));
  svg += "</svg>";
  return svg;
}

std::string Table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::string t = "<table><tr>";
  for (const auto& h : header) t += "<th>" + Escape(h) + "</th>";
  t += "</tr>";
  for (const auto& row : rows) {
    t += "<tr>";
    for (const auto& c : row) t += "<td>" + Escape(c) + "</td>";
    t += "</tr>";
  }
  return t + "</table>";
}

Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  if (!f) return InvalidArgument("cannot create " + path + ": " + std::strerror(errno));
  f << text;
  f.close();
  if (!f) return InvalidArgument("writing " + path + " failed: " + std::strerror(errno));
  return OkStatus();
}

std::string Page(std::string_view title, std::string_view body) {
  return fmt::format(R"s(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{0}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 1000px; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 3px 8px; text-align: right; }}
th {{ background: #f3f3f3; }}
td:first-child, th:first-child {{ text-align: left; }}
.note {{ color: #666; font-size: 90%; }}
svg {{ display: block; margin: 1em 0; }}
</style></head><body>
<h1>{0}</h1>
{1}
</body></html>
)s",
                     Escape(title), body);
}

}  // namespace ferry::report
