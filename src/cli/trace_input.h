// The trace a command reads (--format, --dev, --strict), shared by `ferry trace`,
// `ferry heat`, `ferry simulate` and `ferry migrate --trace`.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "ferry/trace.h"
#include "trace/load.h"

namespace ferry::cli {

struct TraceInput {
  std::string path;
  std::string format = "auto";
  int64_t dev = -1;  // -1: all devices (or the busiest, where one is needed)
  bool strict = false;
  int warnings = 0;  // malformed records reported so far
};

// Adds --format, --dev and --strict (prefixed, e.g. "--trace-format", when `prefix`).
void AddTraceInputOptions(CLI::App* command, TraceInput* in, const std::string& prefix = "");

// Opens the trace; the first few malformed records are printed as warnings.
Result<std::unique_ptr<TraceReader>> OpenTraceInput(TraceInput& in);
// Loads one device's events (LoadTrace); says on stderr which device of a multi-device
// trace it kept.
Result<LoadedTrace> LoadTraceInput(TraceInput& in);
// Prints how many malformed records were skipped beyond those shown.
void ReportSkipped(const TraceInput& in);
// The exit code for a failure to open or read: a bad --format is a usage error.
int TraceExitCode(const TraceInput& in);

// `--history TRACE...` of serve and migrate (trace/load.h LoadHistory), with
// --history-format, --history-dev, --history-strict and --history-time-scale.
struct HistoryInput {
  std::vector<std::string> paths;
  TraceInput trace;  // format, device and strictness (its path unused)
  double time_scale = 1.0;
};
void AddHistoryOptions(CLI::App* command, HistoryInput* in, const std::string& what);
// Checks the options without reading the traces (kInvalidArgument: a usage error).
Status CheckHistoryInput(const HistoryInput& in);
Result<std::vector<IoEvent>> LoadHistoryInput(HistoryInput& in);

}  // namespace ferry::cli
