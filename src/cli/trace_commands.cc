#include "cli/trace_commands.h"

#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/cli.h"
#include "cli/trace_input.h"
#include "ferry/trace.h"
#include "ferry/units.h"
#include "trace/summary.h"

namespace ferry::cli {
namespace {

struct TraceArgs {
  TraceInput in;
  std::string out, target = "volume";
  bool json = false;
};

int Fail(int code, const std::string& m) {
  std::cerr << "ferry: " << m << std::endl;
  return code;
}

int RunInfo(TraceArgs& a) {
  auto r = OpenTraceInput(a.in);
  if (!r.ok()) return Fail(TraceExitCode(a.in), r.status().message());
  std::optional<uint32_t> dev;
  if (a.in.dev >= 0) dev = static_cast<uint32_t>(a.in.dev);
  auto s = Summarize(**r, dev);
  ReportSkipped(a.in);
  if (!s.ok()) return Fail(kExitFailure, s.status().message());
  double span = std::chrono::duration<double>(s->span).count();
  if (a.json) {
    nlohmann::json j = {{"trace", a.in.path},         {"records", s->records},
                        {"reads", s->reads},     {"writes", s->writes},
                        {"read_bytes", s->read_bytes}, {"write_bytes", s->write_bytes},
                        {"span_s", span},        {"volume_bytes", s->highest_offset},
                        {"footprint_bytes", s->footprint}, {"sequential", s->sequential},
                        {"reaccess", s->reaccess}, {"skipped", s->skipped}};
    std::cout << j.dump() << std::endl;
    return kExitOk;
  }
  double read_share = s->records ? 100.0 * static_cast<double>(s->reads) / static_cast<double>(s->records) : 0;
  std::cout << fmt::format("trace:         {}\n", a.in.path)
            << fmt::format("records:       {} ({:.1f}% reads, {:.1f}% writes)\n", s->records, read_share,
                           s->records ? 100 - read_share : 0.0)
            << fmt::format("bytes:         {} read, {} written\n", FormatSize(s->read_bytes), FormatSize(s->write_bytes))
            << fmt::format("time span:     {:.3f} s\n", span)
            << fmt::format("volume:        {} (end of the highest request)\n", FormatSize(s->highest_offset))
            << fmt::format("footprint:     {} touched\n", FormatSize(s->footprint))
            << fmt::format("sequential:    {:.1f}% of requests start where the previous one ended\n",
                           100 * s->sequential)
            << fmt::format("re-access:     {:.1f}% of bytes accessed had been accessed before\n", 100 * s->reaccess);
  if (s->skipped) std::cout << fmt::format("skipped:       {} malformed records\n", s->skipped);
  return kExitOk;
}

int RunConvert(TraceArgs& a) {
  auto r = OpenTraceInput(a.in);
  if (!r.ok()) return Fail(TraceExitCode(a.in), r.status().message());
  std::ofstream file;
  if (a.out != "-") {
    file.open(a.out, std::ios::trunc);
    if (!file) return Fail(kExitFailure, "cannot create " + a.out + ": " + std::strerror(errno));
  }
  std::ostream& out = a.out == "-" ? std::cout : file;
  FioIologWriter w(out, a.target);
  IoEvent e;
  uint64_t n = 0;
  for (;;) {
    auto more = (*r)->Next(&e);
    if (!more.ok()) {
      ReportSkipped(a.in);
      return Fail(kExitFailure, more.status().message());
    }
    if (!*more) break;
    if (a.in.dev >= 0 && e.device != static_cast<uint32_t>(a.in.dev)) continue;
    w.Write(e);
    ++n;
  }
  w.Finish();
  out.flush();
  ReportSkipped(a.in);
  if (!out) return Fail(kExitFailure, "writing " + a.out + " failed");
  if (a.out != "-") {
    std::cerr << fmt::format("ferry: wrote {} records to {} (fio iolog v3; replay with fio --read_iolog={} "
                             "--replay_redirect=DEVICE)\n",
                             n, a.out, a.out);
  }
  return kExitOk;
}

}  // namespace

void AddTraceCommands(CLI::App& app, std::function<int()>* run) {
  auto args = std::make_shared<TraceArgs>();
  auto* trace = app.add_subcommand("trace", "Read block I/O traces: show what is in one, convert it for fio.");
  trace->require_subcommand(1);
  auto common = [args](CLI::App* c) { AddTraceInputOptions(c, &args->in); };
  auto* info = trace->add_subcommand("info", "Records, read/write mix, time span, volume, footprint, "
                                             "sequentiality and re-access of a trace.");
  info->add_option("TRACE", args->in.path, "trace file, gzip-compressed or not")->required();
  common(info);
  info->add_flag("--json", args->json, "print as one JSON object");
  info->callback([args, run] { *run = [args] { return RunInfo(*args); }; });

  auto* convert = trace->add_subcommand("convert", "Write a trace as a fio iolog v3, which fio can replay.");
  convert->add_option("IN", args->in.path, "trace file, gzip-compressed or not")->required();
  convert->add_option("OUT", args->out, "fio iolog to write ('-': standard output)")->required();
  common(convert);
  convert->add_option("--target", args->target, "file name written into the log (default: volume); "
                                                "fio --replay_redirect overrides it")
      ->option_text("NAME");
  convert->callback([args, run] { *run = [args] { return RunConvert(*args); }; });
}

}  // namespace ferry::cli
