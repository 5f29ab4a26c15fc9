// Progress display for the CLI: a one-line bar on a terminal, or JSON lines.
#pragma once

#include "ferry/engine.h"

namespace ferry::cli {

enum class ProgressMode { kNone, kBar, kJson };

// Returns a ProgressFn that renders to stderr (bar) or stdout (JSON lines) for `phase`
// ("copy", "verify"); an empty function for kNone.
ProgressFn MakeProgressPrinter(ProgressMode mode, const char* phase);
// Ends a bar line (prints the newline) when the mode is kBar.
void FinishProgress(ProgressMode mode);

}  // namespace ferry::cli
