#include "cli/progress.h"

#include <iostream>

#include "report/summaries.h"

namespace ferry::cli {

ProgressFn MakeProgressPrinter(ProgressMode mode, const char* phase) {
  switch (mode) {
    case ProgressMode::kNone:
      return {};
    case ProgressMode::kBar:
      return [phase](const Progress& p) {
        std::fprintf(stderr, "\r%-6s %s\033[K", phase, report::FormatProgressBar(p).c_str());
        std::fflush(stderr);
      };
    case ProgressMode::kJson:
      return [phase](const Progress& p) {
        std::cout << report::ProgressJson(p, phase).dump() << std::endl;
      };
  }
  return {};
}

void FinishProgress(ProgressMode mode) {
  if (mode == ProgressMode::kBar) std::fputc('\n', stderr);
}

}  // namespace ferry::cli
