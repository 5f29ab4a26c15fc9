// `ferry serve SRC DST --journal FILE` (docs/cli.md): exports the volume over NBD while
// it migrates. nbdkit serves; ferry's plugin (src/nbdkit/plugin.cc) runs the migration
// inside it. This command turns its flags into nbdkit's command line and runs nbdkit as
// its child (serve/nbdkit_process.h); the exit status is nbdkit's. When nbdkit crashes
// while serving a socket (nbdkit 1.32 can fail an assertion when a client disconnects
// with requests in flight), it is started again: the journal holds every flushed write,
// so the new server continues the migration.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "cli/analysis_commands.h"
#include "cli/cli.h"
#include "cli/trace_input.h"
#include "engine/control.h"
#include "ferry/live.h"
#include "ferry/units.h"
#include "ferry/volume.h"
#include "serve/nbdkit_process.h"
#include "trace/recorder.h"

namespace ferry::cli {
namespace {

struct ServeArgs {
  std::string src, dst, journal, report, metrics, record;
  NbdkitEndpoint endpoint;
  HistoryInput history;
  std::string policy = "adaptive", predictor, model, rate, granule = "64K", latency_target, min_rate,
              source_timeout;
  int threads = MigrateOptions{}.threads;
  int requests = MigrateOptions{}.max_in_flight;
  bool exit_when_done = false, print_command = false, verify = false, release_source = false;
  bool watch = false;  // ferry watch: the source served as it is, nothing copied
  std::string status;  // ferry watch --status
};

// Every other flag, checked before nbdkit starts, so that a mistake is one line from
// ferry rather than one from inside nbdkit.
int CheckServeFlags(const ServeArgs& a) {
  if (auto p = ChoosePolicy(a.policy, a.predictor, a.model, PolicyUse::kServe, !a.history.paths.empty());
      !a.watch && !p.ok()) {
    return Fail(kExitUsage, p.status().message());
  }
  if (Status s = CheckHistoryInput(a.history); !s.ok()) return Fail(kExitUsage, s.message());
  for (const std::string& h : a.history.paths) {
    if (::access(h.c_str(), R_OK) != 0) {
      return Fail(kExitFailure, "--history " + h + ": cannot read it (" + std::strerror(errno) + ")");
    }
  }
  if (!a.record.empty()) {
    if (Status s = TraceRecorder::CheckCreatable(a.record); !s.ok()) {
      return Fail(s.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure, s.message());
    }
  }
  if (a.release_source && !a.verify) {
    return Fail(kExitUsage, "--release-source needs --verify: the source is released only after a successful verify");
  }
  for (const auto& [text, flag] : {std::pair{a.latency_target, "--latency-target"}, {a.source_timeout, "--source-timeout"}}) {
    if (auto d = ParseDuration(text, flag); !text.empty() && !d.ok()) return Fail(kExitUsage, d.status().message());
  }
  if (auto r = ParseSize(a.min_rate, "--min-rate"); !a.min_rate.empty() && !r.ok()) return Fail(kExitUsage, r.status().message());
  return kExitOk;
}

// The plugin's key=value parameters (serve/session.h), paths made absolute.
void AddPluginParams(const ServeArgs& a, std::vector<std::string>* args) {
  auto add = [args](const std::string& key, const std::string& value) {
    if (!value.empty()) args->push_back(key + "=" + value);
  };
  add("source", AbsolutePath(a.src));
  if (a.watch) {
    add("watch", "true");
    add("granule", a.granule);
    add("status", AbsolutePath(a.status));
    add("record", AbsolutePath(a.record));
    add("report", AbsolutePath(a.report));
    return;
  }
  add("dest", AbsolutePath(a.dst));
  add("journal", AbsolutePath(a.journal));
  add("policy", a.policy);
  add("predictor", a.predictor);
  add("granule", a.granule);
  add("threads", std::to_string(a.threads));
  add("requests", std::to_string(a.requests));
  add("model", AbsolutePath(a.model));
  add("rate", a.rate);
  add("latency-target", a.latency_target);
  add("min-rate", a.min_rate);
  add("source-timeout", a.source_timeout);
  add("report", AbsolutePath(a.report));
  add("metrics", AbsolutePath(a.metrics));
  add("record", AbsolutePath(a.record));
  for (const std::string& h : a.history.paths) add("history", AbsolutePath(h));
  if (!a.history.paths.empty()) {
    if (a.history.trace.format != "auto") add("history-format", a.history.trace.format);
    if (a.history.trace.dev >= 0) add("history-dev", std::to_string(a.history.trace.dev));
    if (a.history.trace.strict) add("history-strict", "true");
    if (a.history.time_scale != 1.0) add("history-time-scale", fmt::format("{}", a.history.time_scale));
  }
  if (a.exit_when_done) add("exit-when-done", "true");
  if (a.verify) add("verify", "true");
  if (a.release_source) add("release-source", "true");
}

int RunNbdkit(const ServeArgs& a, const std::vector<std::string>& args) {
  if (a.print_command) {
    for (size_t i = 0; i < args.size(); ++i) std::cout << (i ? " " : "") << args[i];
    std::cout << std::endl;
    return kExitOk;
  }
  PreloadSanitizerRuntime();
  SuperviseOptions o;
  o.restart = a.endpoint.run.empty();
  o.unix_socket = a.endpoint.socket.empty() ? "" : AbsolutePath(a.endpoint.socket);
  o.note = [](const std::string& m) { std::cerr << "ferry: " << m << std::endl; };
  auto status = SuperviseNbdkit(args, o);
  return status.ok() ? *status : Fail(kExitFailure, status.status().message());
}

int RunServe(ServeArgs& a) {
  if (int code = CheckServeFlags(a); code != kExitOk) return code;
  auto args = NbdkitCommand(a.endpoint);
  if (!args.ok()) {
    return Fail(args.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure, args.status().message());
  }
  AddPluginParams(a, &*args);
  return RunNbdkit(a, *args);
}

struct ControlArgs {
  std::string journal, command, arg;
};

int RunControl(const ControlArgs& a) {
  auto reply = Control(a.journal, a.command, a.arg);
  if (!reply.ok()) return Fail(reply.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure,
                               reply.status().message());
  std::cout << *reply << std::endl;
  return kExitOk;
}

}  // namespace

void AddControlCommand(CLI::App& app, std::function<int()>* run) {
  auto a = std::make_shared<ControlArgs>();
  auto* c = app.add_subcommand("control", "Control a running 'ferry serve': pause or resume its background copy, "
                                          "change its rate, abort it (the destination stays resumable), or "
                                          "print its live status as JSON.");
  c->add_option("JOURNAL", a->journal, "the journal given to ferry serve --journal")->required();
  c->add_option("COMMAND", a->command, "pause, resume, rate, abort or status")
      ->required()
      ->check(CLI::IsMember({"pause", "resume", "rate", "abort", "status"}));
  c->add_option("SIZE", a->arg, "for rate: bytes per second, e.g. 50M (0: unlimited)");
  c->callback([run, a] { *run = [a] { return RunControl(*a); }; });
}

// The options of where clients connect, shared by serve and watch.
void AddEndpointOptions(CLI::App* c, ServeArgs* a) {
  c->add_option("--socket", a->endpoint.socket, "serve on this Unix socket (nbd+unix:///?socket=PATH)");
  c->add_option("--listen", a->endpoint.listen,
                "serve on TCP HOST:PORT (nbds://HOST:PORT): needs --tls-certificates or --tls-psk, or --insecure");
  c->add_option("--tls-certificates", a->endpoint.tls_certificates,
                "require TLS with the X.509 certificates in DIR (ca-cert.pem, server-cert.pem, server-key.pem; "
                "nbdkit-tls(1))")
      ->option_text("DIR");
  c->add_option("--tls-psk", a->endpoint.tls_psk,
                "require TLS with the pre-shared keys in FILE (made by psktool; clients connect to "
                "nbds://USER@HOST:PORT/?tls-psk-file=FILE)")
      ->option_text("FILE");
  c->add_flag("--insecure", a->endpoint.insecure, "with --listen and no TLS option: serve plain NBD on TCP, unauthenticated");
  c->add_option("--run", a->endpoint.run,
                "start CMD once serving, with $uri (and $unixsocket) set, and stop when it exits "
                "(nbdkit's captive mode); without --socket or --listen the socket is private");
  c->add_flag("-v,--verbose", a->endpoint.verbose, "nbdkit's debug messages");
  c->add_flag("--print-command", a->print_command, "print the nbdkit command line instead of running it");
}

void AddWatchCommand(CLI::App& app, std::function<int()>* run) {
  auto a = std::make_shared<ServeArgs>();
  a->watch = true;
  auto* c = app.add_subcommand(
      "watch",
      "Export SRC over NBD as it is, copying nothing, and watch the workload aimed at it: record it as a trace "
      "(--record) for a later 'ferry serve --history' or 'ferry migrate --history', show its heat while it runs "
      "('ferry status FILE' with --status FILE) and in a report (--report). Reads and writes go to SRC. For the "
      "days before a move.");
  c->add_option("SRC", a->src, "the volume the application uses: a path or an NBD URI (read and written)")->required();
  AddEndpointOptions(c, a.get());
  c->add_option("--record", a->record,
                "write every request to FILE as a trace (fio iolog v3); FILE must not exist")
      ->option_text("FILE");
  c->add_option("--status", a->status,
                "write the live figures (requests, bytes, footprint, hottest granules) to FILE as JSON every "
                "second; 'ferry status FILE' shows them")
      ->option_text("FILE");
  c->add_option("--report", a->report, "write an HTML heat report of the workload when it stops")
      ->option_text("FILE.html");
  c->add_option("--granule", a->granule, "the heat's unit, a power of two from 4K (default: 64K)");
  c->callback([run, a] { *run = [a] { return RunServe(*a); }; });
}

void AddServeCommand(CLI::App& app, std::function<int()>* run) {
  auto a = std::make_shared<ServeArgs>();
  auto* c = app.add_subcommand(
      "serve",
      "Export SRC over NBD while migrating it to DST: clients use the volume from the first second; "
      "reads of data not yet copied are fetched on demand, writes land on DST, the rest is copied "
      "in the background, hottest and predicted first. Runs nbdkit with ferry's plugin; Ctrl-C stops "
      "and leaves DST resumable from the journal.");
  c->add_option("SRC", a->src, "the volume to migrate: a path or an NBD URI (only read)")->required();
  c->add_option("DST", a->dst, "where it goes: a path (created at SRC's size when missing) or an NBD URI")->required();
  c->add_option("--journal", a->journal, "progress record, for resume after a crash or a stop")->required();
  AddEndpointOptions(c, a.get());
  c->add_option("--policy", a->policy, "copy order: adaptive (default), heat, dmclone or qemu-stream");
  c->add_option("--predictor", a->predictor,
                "stride+markov (the default with policy adaptive or heat: an ensemble of the two), stride, markov, "
                "lstm, ensemble (all three), other members joined by +, or none: predictions of the next accesses "
                "are copied first");
  c->add_option("--model", a->model, "a model saved by 'ferry train', for a predictor with the LSTM (lstm, ensemble)");
  c->add_option("--rate", a->rate, "background read rate from SRC per second, e.g. 100M (default: unlimited; "
                                   "reads that wait are never held back)");
  c->add_option("--granule", a->granule, "tracking unit, a power of two from 4K (default: 64K)");
  c->add_option("--threads", a->threads,
                "copy workers: they send reads to SRC (NBD: asynchronously; a file: each reads its own) and write "
                "the answers to DST (default: one per processor core, 2 to 16)");
  c->add_option("--requests", a->requests,
                "copy requests in flight at most; how many are is the link controller's choice (default: 64)");
  c->add_option("--source-timeout", a->source_timeout,
                "when an NBD SRC is lost (server restarted, network down, or silent this long with requests "
                "owed), it is connected again with backoff; reads of data not yet on DST wait this long, "
                "then get EIO; the copy resumes when SRC is back (default: 30s)")
      ->option_text("DURATION");
  c->add_option("--latency-target", a->latency_target,
                "the queueing delay a read that goes to SRC may see behind copies while the application waits on "
                "SRC (default: a quarter of SRC's measured base latency)")
      ->option_text("DURATION");
  c->add_option("--min-rate", a->min_rate,
                "copy at least SIZE bytes/s even while the application waits on SRC, so the migration ends "
                "(default: a tenth of SRC's measured delivery rate)")
      ->option_text("SIZE");
  AddHistoryOptions(c, &a->history, "the heat map and the predictor start from it, and the predicted "
                                    "continuation is copied first");
  c->add_option("--record", a->record,
                "write every request served to FILE as a trace (fio iolog v3: fio replays it; a later migration "
                "starts warm with --history FILE); FILE must not exist")
      ->option_text("FILE");
  c->add_option("--report", a->report, "write a self-contained HTML report of the run when it stops")
      ->option_text("FILE.html");
  c->add_option("--metrics", a->metrics,
                "write the live figures (progress, rates, stalls, latency quantiles, source outages, link model) in "
                "Prometheus text format to FILE, atomically, every second: for node_exporter's textfile collector "
                "(name it *.prom in its directory)")
      ->option_text("FILE");
  c->add_flag("--exit-when-done", a->exit_when_done,
              "stop serving once every granule is on DST (with --verify: once the verify and release are done)");
  c->add_flag("--verify", a->verify,
              "once every granule is on DST, compare DST with SRC, skipping what the application wrote (kept in "
              "JOURNAL.written); the outcome is in ferry status and the summary");
  c->add_flag("--release-source", a->release_source,
              "after an equal --verify, discard every block of SRC (opened writable for that alone); never after a "
              "difference or a failure, nor when a restart lost track of what the application wrote");
  c->callback([run, a] { *run = [a] { return RunServe(*a); }; });
}

}  // namespace ferry::cli
