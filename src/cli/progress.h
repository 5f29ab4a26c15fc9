// Progress display for the CLI: a one-line bar on a terminal, or JSON lines.
#pragma once

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "ferry/engine.h"

namespace ferry::cli {

enum class ProgressMode { kNone, kBar, kJson };

// "[=========>          ]  45.2%  463 MiB / 1.00 GiB  812 MiB/s  ETA 0:01", `width`
// columns of bar.
std::string FormatProgressBar(const Progress& p, int width = 30);
// {"type":"progress","done_bytes":...,"total_bytes":...,"percent":...,...}
nlohmann::json ProgressJson(const Progress& p, const char* phase);

// Returns a ProgressFn that renders to stderr (bar) or stdout (JSON lines) for `phase`
// ("copy", "verify"); an empty function for kNone.
ProgressFn MakeProgressPrinter(ProgressMode mode, const char* phase);
// Ends a bar line (prints the newline) when the mode is kBar.
void FinishProgress(ProgressMode mode);

}  // namespace ferry::cli
