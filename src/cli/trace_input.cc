#include "cli/trace_input.h"

#include <fmt/format.h>

#include <iostream>

#include "cli/cli.h"

namespace ferry::cli {
namespace {
constexpr int kMaxWarnings = 10;  // printed; the rest are only counted

// Prints the first kMaxWarnings skipped records of `in`, counts them all.
std::function<void(const std::string&)> WarnOfSkipped(TraceInput& in) {
  return [warnings = &in.warnings](const std::string& w) {
    if (++*warnings <= kMaxWarnings) std::cerr << "ferry: warning: skipping malformed record: " << w << "\n";
  };
}
}  // namespace

void AddTraceInputOptions(CLI::App* c, TraceInput* in, const std::string& prefix) {
  const std::string p = prefix.empty() ? "--" : "--" + prefix + "-";
  c->add_option(p + "format", in->format, "trace format: auto (detect, the default), msr, spc, alibaba, tencent, "
                                          "blkparse, vscsi or fio")
      ->option_text("FORMAT");
  c->add_option(p + "dev", in->dev, "only this device of a multi-device trace")->option_text("N");
  c->add_flag(p + "strict", in->strict, "a malformed trace record is an error (default: warn and skip it)");
}

Result<std::unique_ptr<TraceReader>> OpenTraceInput(TraceInput& in) {
  FERRY_ASSIGN_OR_RETURN(TraceFormat format, ParseTraceFormat(in.format));
  TraceReadOptions o;
  o.strict = in.strict;
  o.on_warning = WarnOfSkipped(in);
  return OpenTrace(in.path, format, o);
}

Result<LoadedTrace> LoadTraceInput(TraceInput& in) {
  FERRY_ASSIGN_OR_RETURN(auto reader, OpenTraceInput(in));
  std::optional<uint32_t> dev;
  if (in.dev >= 0) dev = static_cast<uint32_t>(in.dev);
  auto t = LoadTrace(*reader, dev);
  ReportSkipped(in);
  if (!t.ok()) return t.status().WithContext(in.path);
  if (!dev && t->devices > 1) {
    std::cerr << BusiestDeviceNote(in.path, *t, "--dev") << "\n";
  }
  if (t->events.empty()) return InvalidArgument(in.path + ": the trace has no read or write records");
  return t;
}

void ReportSkipped(const TraceInput& in) {
  if (in.warnings > kMaxWarnings) {
    std::cerr << fmt::format("ferry: warning: {} malformed records skipped in all (the first {} shown)\n", in.warnings,
                             kMaxWarnings);
  }
}

int TraceExitCode(const TraceInput& in) { return ParseTraceFormat(in.format).ok() ? kExitFailure : kExitUsage; }

void AddHistoryOptions(CLI::App* c, HistoryInput* in, const std::string& what) {
  c->add_option("--history", in->paths,
                "recorded block traces of the volume's workload (any format ferry reads; several are joined in "
                "order), e.g. from 'ferry serve --record' or 'ferry watch --record': " + what)
      ->option_text("TRACE...");
  AddTraceInputOptions(c, &in->trace, "history");
  c->add_option("--history-time-scale", in->time_scale, "multiply the history's times by this (as simulate's "
                                                        "--time-scale)")
      ->option_text("X");
}

Status CheckHistoryInput(const HistoryInput& in) {
  if (!in.paths.empty() || in.trace.format != "auto" || in.trace.dev >= 0 || in.time_scale != 1.0) {
    if (in.paths.empty()) return InvalidArgument("--history-format, --history-dev and --history-time-scale need --history TRACE");
  }
  FERRY_RETURN_IF_ERROR(ParseTraceFormat(in.trace.format).status().WithContext("--history-format"));
  if (!(in.time_scale > 0)) return InvalidArgument("--history-time-scale must be positive");
  return OkStatus();
}

Result<std::vector<IoEvent>> LoadHistoryInput(HistoryInput& in) {
  FERRY_RETURN_IF_ERROR(CheckHistoryInput(in));
  HistoryOptions o;
  o.format = ParseTraceFormat(in.trace.format).value();
  if (in.trace.dev >= 0) o.device = static_cast<uint32_t>(in.trace.dev);
  o.time_scale = in.time_scale;
  o.read.strict = in.trace.strict;
  o.read.on_warning = WarnOfSkipped(in.trace);
  o.on_device_chosen = [](const std::string& path, const LoadedTrace& t) {
    std::cerr << BusiestDeviceNote(path, t, "--history-dev") << "\n";
  };
  auto events = LoadHistory(in.paths, o);
  ReportSkipped(in.trace);
  return events;
}

}  // namespace ferry::cli
