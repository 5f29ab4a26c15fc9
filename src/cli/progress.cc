#include "cli/progress.h"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "ferry/units.h"

namespace ferry::cli {

std::string FormatProgressBar(const Progress& p, int width) {
  double frac = p.total_bytes ? static_cast<double>(p.done_bytes) / static_cast<double>(p.total_bytes) : 1.0;
  frac = std::clamp(frac, 0.0, 1.0);
  int filled = static_cast<int>(frac * width);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < width) bar += '>';
  bar.resize(static_cast<size_t>(width), ' ');
  return fmt::format("[{}] {:5.1f}%  {} / {}  {}  ETA {}", bar, frac * 100, FormatSize(p.done_bytes),
                     FormatSize(p.total_bytes), FormatRate(p.rate_bps), FormatEta(p.eta_s));
}

nlohmann::json ProgressJson(const Progress& p, const char* phase) {
  double pct = p.total_bytes ? 100.0 * static_cast<double>(p.done_bytes) / static_cast<double>(p.total_bytes) : 100.0;
  return {{"type", "progress"},   {"phase", phase},        {"done_bytes", p.done_bytes},
          {"total_bytes", p.total_bytes}, {"percent", pct}, {"rate_bps", p.rate_bps},
          {"eta_s", p.eta_s},     {"elapsed_s", p.elapsed_s}, {"chunk_size", p.chunk_size}};
}

ProgressFn MakeProgressPrinter(ProgressMode mode, const char* phase) {
  switch (mode) {
    case ProgressMode::kNone:
      return {};
    case ProgressMode::kBar:
      return [phase](const Progress& p) {
        std::fprintf(stderr, "\r%-6s %s\033[K", phase, FormatProgressBar(p).c_str());
        std::fflush(stderr);
      };
    case ProgressMode::kJson:
      return [phase](const Progress& p) {
        std::cout << ProgressJson(p, phase).dump() << std::endl;
      };
  }
  return {};
}

void FinishProgress(ProgressMode mode) {
  if (mode == ProgressMode::kBar) std::fputc('\n', stderr);
}

}  // namespace ferry::cli
