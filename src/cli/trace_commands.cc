#include "cli/trace_commands.h"

#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <optional>

#include "cli/cli.h"
#include "cli/parsed_flags.h"
#include "cli/trace_input.h"
#include "ferry/trace.h"
#include "trace/summary.h"
#include "trace/synth.h"
#include "trace/writer.h"

namespace ferry::cli {
namespace {

struct TraceArgs {
  TraceInput in;
  std::string out, target = "volume", to = "fio";
  std::string from, until;  // convert: the time window ("": the whole trace)
  bool json = false;
};

int RunInfo(TraceArgs& a) {
  auto r = OpenTraceInput(a.in);
  if (!r.ok()) return Fail(TraceExitCode(a.in), r.status().message());
  std::optional<uint32_t> dev;
  if (a.in.dev >= 0) dev = static_cast<uint32_t>(a.in.dev);
  auto s = Summarize(**r, dev);
  ReportSkipped(a.in);
  if (!s.ok()) return Fail(kExitFailure, s.status().message());
  std::cout << (a.json ? TraceSummaryJson(a.in.path, *s) + "\n" : TraceSummaryText(a.in.path, *s)) << std::flush;
  return kExitOk;
}

int RunConvert(TraceArgs& a) {
  auto r = OpenTraceInput(a.in);
  if (!r.ok()) return Fail(TraceExitCode(a.in), r.status().message());
  const auto to = ParseTraceFormat(a.to);
  if (!to.ok()) return Fail(kExitUsage, "invalid --to '" + a.to + "': use fio or msr");
  TraceWindow window;
  window.dev = a.in.dev;
  ParsedFlags p;
  if (!a.from.empty()) p.Duration(a.from, "--from", &window.from);
  if (!a.until.empty()) p.Duration(a.until, "--until", &window.until);
  if (!p.status.ok()) return Fail(kExitUsage, p.status.message());
  if (window.until <= window.from) {
    return Fail(kExitUsage, "--until " + a.until + " is not after --from " + (a.from.empty() ? "0s" : a.from) +
                                ": the window holds nothing");
  }
  auto n = WriteTraceFile(**r, window, to.value(), a.target, a.out);
  ReportSkipped(a.in);
  if (!n.ok()) return Fail(kExitFailure, n.status().message());
  std::cerr << TraceWrittenText(a.out, *n, a.to);
  return kExitOk;
}

struct SynthArgs {
  std::string out, to = "fio", target = "volume";
  std::string volume_size = "4G", duration = "120s", io_size = "4K", hot_size = "128M", stream_io = "128K";
  std::string hot_share = "60%", stream_share = "20%", write_share = "30%", phase_change = "50%";
  double iops = SynthOptions{}.iops;
  int streams = SynthOptions{}.streams;
  uint64_t seed = 1;
};

int RunSynth(const SynthArgs& a) {
  SynthOptions o;
  ParsedFlags p;
  p.Size(a.volume_size, "--volume-size", &o.volume_size);
  p.Size(a.io_size, "--io-size", &o.io_size);
  p.Size(a.hot_size, "--hot-size", &o.hot_size);
  p.Size(a.stream_io, "--stream-io", &o.stream_io);
  p.Share(a.hot_share, "--hot-share", &o.hot_share);
  p.Share(a.stream_share, "--stream-share", &o.stream_share);
  p.Share(a.write_share, "--write-share", &o.write_share);
  p.Share(a.phase_change, "--phase-change", &o.phase_change);
  p.Duration(a.duration, "--duration", &o.duration);
  o.iops = a.iops;
  o.streams = a.streams;
  o.seed = a.seed;
  if (!p.status.ok()) return Fail(kExitUsage, p.status.message());
  auto r = NewSyntheticTrace(o);
  if (!r.ok()) return Fail(kExitUsage, r.status().message());
  auto f = ParseTraceFormat(a.to);
  if (!f.ok() || !TraceFormatWritable(*f)) return Fail(kExitUsage, "invalid --to '" + a.to + "': use fio or msr");
  auto n = WriteTraceFile(**r, TraceWindow{}, *f, a.target, a.out);
  if (!n.ok()) return Fail(kExitFailure, n.status().message());
  std::cerr << TraceWrittenText(a.out, *n, a.to);
  return kExitOk;
}

}  // namespace

void AddTraceCommands(CLI::App& app, std::function<int()>* run) {
  auto args = std::make_shared<TraceArgs>();
  auto* trace = app.add_subcommand("trace", "Block I/O traces: show what is in one, convert it for fio, "
                                            "make a synthetic one.");
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
  convert->add_option("--to", args->to, "output format: fio (iolog v3, the default) or msr (MSR-Cambridge CSV)")
      ->option_text("FORMAT");
  convert->add_option("--from", args->from, "only records from this time of the trace on (e.g. 10s), their "
                                            "times counted from it (default: the start)")
      ->option_text("DURATION");
  convert->add_option("--until", args->until, "only records before this time of the trace (default: the end)")
      ->option_text("DURATION");
  convert->callback([args, run] { *run = [args] { return RunConvert(*args); }; });

  auto sa = std::make_shared<SynthArgs>();
  auto* synth = trace->add_subcommand("synth", "Write a synthetic workload with known structure: a hot set that "
                                               "moves halfway, sequential streams, random reads and writes.");
  synth->add_option("OUT", sa->out, "trace file to write ('-': standard output)")->required();
  synth->add_option("--to", sa->to, "fio (iolog v3, the default) or msr")->option_text("FORMAT");
  synth->add_option("--target", sa->target, "file name written into a fio log (default: volume)")->option_text("NAME");
  synth->add_option("--volume-size", sa->volume_size, "volume the workload spans (default: 4G)")->option_text("SIZE");
  synth->add_option("--duration", sa->duration, "length of the trace (default: 120s)")->option_text("DURATION");
  synth->add_option("--iops", sa->iops, "mean request rate (default: 500)")->option_text("N");
  synth->add_option("--io-size", sa->io_size, "size of hot and random requests (default: 4K)")->option_text("SIZE");
  synth->add_option("--hot-size", sa->hot_size, "size of the hot set (default: 128M)")->option_text("SIZE");
  synth->add_option("--hot-share", sa->hot_share, "share of requests to the hot set (default: 60%)")->option_text("SHARE");
  synth->add_option("--streams", sa->streams, "sequential readers (default: 2)")->option_text("N");
  synth->add_option("--stream-share", sa->stream_share, "share of requests from the streams (default: 20%)")
      ->option_text("SHARE");
  synth->add_option("--stream-io", sa->stream_io, "size of stream requests (default: 128K)")->option_text("SIZE");
  synth->add_option("--write-share", sa->write_share, "share of hot and random requests that write (default: 30%)")
      ->option_text("SHARE");
  synth->add_option("--phase-change", sa->phase_change, "when the hot set moves, as a share of the duration "
                                                        "(default: 50%; 0 for never)")
      ->option_text("SHARE");
  synth->add_option("--seed", sa->seed, "random seed; the same seed gives the same trace (default: 1)")->option_text("N");
  synth->callback([sa, run] { *run = [sa] { return RunSynth(*sa); }; });
}

}  // namespace ferry::cli
