#include "cli/trace_input.h"

#include <fmt/format.h>

#include <iostream>

#include "cli/cli.h"

namespace ferry::cli {
namespace {
constexpr int kMaxWarnings = 10;  // printed; the rest are only counted
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
  int* warnings = &in.warnings;
  o.on_warning = [warnings](const std::string& w) {
    if (++*warnings <= kMaxWarnings) std::cerr << "ferry: warning: skipping malformed record: " << w << "\n";
  };
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
    std::cerr << fmt::format("ferry: {} has {} devices; using the busiest, device {} (choose one with --dev)\n",
                             in.path, t->devices, t->device);
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

}  // namespace ferry::cli
