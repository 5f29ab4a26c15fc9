// The ferry command line. Thin: parse, call the library, print, choose the exit code.
#include "cli/cli.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/parsed_flags.h"
#include "cli/progress.h"
#include "cli/analysis_commands.h"
#include "cli/trace_commands.h"
#include "cli/trace_input.h"
#include "engine/live_status.h"
#include "predict/lstm.h"
#include "predict/predictor.h"
#include "report/summaries.h"
#include "ferry/engine.h"
#include "ferry/journal.h"
#include "ferry/live.h"
#include "ferry/units.h"
#include "ferry/volume.h"
#include "ferry/watch.h"

namespace ferry::cli {
namespace {

std::atomic<bool> g_cancel{false};

extern "C" void OnSignal(int) { g_cancel.store(true); }

void InstallSignalHandlers() {
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);  // the terminal went away: stop cleanly too
}

using ferry::cli::Fail;  // the message form, from cli.h
int Fail(int code, const Status& s) { return Fail(code, s.message()); }
// A volume that cannot be opened: a malformed name is a usage error, anything else a failure.
int FailOpen(const Status& s) { return Fail(s.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure, s); }

Result<ProgressMode> ParseProgressMode(const std::string& s) {
  if (s == "none") return ProgressMode::kNone;
  if (s == "bar") return ProgressMode::kBar;
  if (s == "json") return ProgressMode::kJson;
  if (s == "auto") return isatty(STDERR_FILENO) ? ProgressMode::kBar : ProgressMode::kNone;
  return InvalidArgument("invalid --progress '" + s + "': use auto, bar, json or none");
}

// Opens the source read-only, with a message that says it is the source.
Result<std::unique_ptr<Volume>> OpenSource(const std::string& spec) {
  auto v = OpenVolume(spec, OpenOptions{});
  if (!v.ok()) return v.status().WithContext("source");
  return v;
}

struct MigrateArgs {
  std::string src, dst, journal;
  std::string granule = "64K", min_chunk, max_chunk, rate, source_timeout;
  int threads = MigrateOptions{}.threads;
  int requests = MigrateOptions{}.max_in_flight;
  bool verify = false, release_source = false, json = false;
  std::string progress = "auto";
  std::string policy = "adaptive";
  std::string predictor = "none", model;
  HistoryInput history;
};

// The options of `ferry migrate` from its arguments; every usage error is found here,
// before anything is written to the destination or the journal.
Result<MigrateOptions> MigrateOptionsOf(const MigrateArgs& a, PolicyChoice* choice) {
  MigrateOptions o;
  uint64_t min_chunk = 0, max_chunk = 0;
  std::chrono::nanoseconds source_timeout = o.source_timeout;
  ParsedFlags p;
  p.Size(a.granule, "--granule", &o.granule_size);
  p.Size(a.min_chunk, "--min-chunk", &min_chunk);
  p.Size(a.max_chunk, "--max-chunk", &max_chunk);
  p.Size(a.rate, "--rate", &o.rate_limit);
  p.Duration(a.source_timeout, "--source-timeout", &source_timeout);
  FERRY_RETURN_IF_ERROR(p.status);
  SetChunkRange(&o, min_chunk, max_chunk);
  o.threads = a.threads;
  o.max_in_flight = a.requests;
  o.source_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(source_timeout);
  FERRY_RETURN_IF_ERROR(ValidateMigrateOptions(o));
  FERRY_ASSIGN_OR_RETURN(*choice, ChoosePolicy(a.policy, a.predictor, a.model, PolicyUse::kMigrate,
                                               !a.history.paths.empty()));
  FERRY_RETURN_IF_ERROR(CheckHistoryInput(a.history));
  o.policy = choice->policy;
  if (a.release_source && !a.verify) {
    return InvalidArgument("--release-source needs --verify: the source is released only after a successful verify");
  }
  return o;
}

// --verify (and --release-source) after the copy (VerifyAndRelease guards invariant 1):
// into the summary; the exit code.
int ConcludeMigrate(const MigrateArgs& a, ProgressMode mode, std::unique_ptr<Volume> src, Volume& dst,
                    Journal* journal, nlohmann::json* summary) {
  ConcludeOptions co;
  co.verify.threads = a.threads;
  co.verify.cancel = &g_cancel;
  co.verify.on_progress = MakeProgressPrinter(mode, "verify");
  co.release = a.release_source;
  co.source_spec = a.src;
  if (journal) co.record = [journal](JournalState st) { return journal->Commit(journal->present(), st); };
  auto c = VerifyAndRelease(std::move(src), dst, co);
  FinishProgress(mode);
  if (!c.ok()) return Fail(kExitFailure, c.status());
  (*summary)["verify"] = report::VerifyJson(c->verify);
  (*summary)["source_released"] = c->released;
  if (!c->verify.equal) {
    if (!a.json) std::cerr << "ferry: " << report::VerifyDiffsText(c->verify) << std::flush;
    return kExitMismatch;
  }
  if (!a.json) {
    std::cout << fmt::format("  verify: equal ({:.2f} s)\n", c->verify.seconds);
    if (c->released) std::cout << "  source released: its blocks were discarded\n";
  }
  return kExitOk;
}

int RunMigrate(MigrateArgs& a) {
  PolicyChoice choice;
  auto options = MigrateOptionsOf(a, &choice);
  if (!options.ok()) return Fail(kExitUsage, options.status());
  MigrateOptions& o = *options;
  auto mode = ParseProgressMode(a.progress);
  if (!mode.ok()) return Fail(kExitUsage, mode.status());

  // The predictor (none: null) trains once, on the history, before the copy; Ctrl-C cuts that short too.
  auto predictor = MakePredictor(choice.predictor, {a.model, o.granule_size, /*background_training=*/false, &g_cancel});
  if (!predictor.ok()) return FailPredictor(predictor.status());
  o.predictor = predictor->get();
  std::vector<IoEvent> history;
  if (!a.history.paths.empty()) {
    auto t = LoadHistoryInput(a.history);
    if (!t.ok()) return Fail(kExitFailure, t.status().WithContext("--history"));
    history = std::move(t).value();
    o.history = &history;
  }

  auto opened = OpenMigration(a.src, a.dst, a.journal, o.granule_size, o.source_timeout, /*bulk_copy=*/true);
  if (!opened.ok()) return FailOpen(opened.status());
  std::unique_ptr<Journal> journal = std::move(opened->journal);
  const report::MigrateRunInfo run{a.src, a.dst, choice.predictor, o.granule_size};
  if (journal && journal->state() == JournalState::kReleased) {
    std::cout << (a.json ? report::NothingToDoJson(run, JournalStateName(journal->state())).dump() + "\n"
                         : report::NothingToDoText(a.journal))
              << std::flush;
    return kExitOk;
  }

  InstallSignalHandlers();
  o.cancel = &g_cancel;
  o.on_progress = MakeProgressPrinter(*mode, "copy");
  auto stats = Migrate(*opened->source, *opened->destination, journal.get(), o);
  FinishProgress(*mode);
  if (!stats.ok()) {
    std::string hint = journal ? "; progress is saved in " + a.journal + ": rerun the same command to resume"
                               : "; without --journal a rerun starts over";
    return Fail(kExitFailure, stats.status().message() + hint);
  }
  nlohmann::json summary = report::MigrateSummaryJson(run, *stats);
  if (!a.json) std::cout << report::MigrateSummaryText(run, *stats) << std::flush;
  int code = kExitOk;
  if (a.verify) {
    code = ConcludeMigrate(a, *mode, std::move(opened->source), *opened->destination, journal.get(), &summary);
  }
  if (a.json && code != kExitFailure) std::cout << summary.dump() << std::endl;
  return code;
}

int RunVerify(const std::string& src_spec, const std::string& dst_spec, int threads, bool json,
              const std::string& progress) {
  auto mode = ParseProgressMode(progress);
  if (!mode.ok()) return Fail(kExitUsage, mode.status());
  if (threads < 1 || threads > 256) return Fail(kExitUsage, "--threads must be between 1 and 256");
  auto src = OpenSource(src_spec);
  if (!src.ok()) return FailOpen(src.status());
  auto dst = OpenVolume(dst_spec, OpenOptions{});
  if (!dst.ok()) return FailOpen(dst.status().WithContext("destination"));
  InstallSignalHandlers();
  VerifyOptions vo;
  vo.threads = threads;
  vo.cancel = &g_cancel;
  vo.on_progress = MakeProgressPrinter(*mode, "verify");
  auto v = Verify(**src, **dst, vo);
  FinishProgress(*mode);
  if (!v.ok()) return Fail(kExitFailure, v.status().WithContext("verify"));
  if (json) {
    std::cout << report::VerifyJson(*v).dump() << std::endl;
  } else if (v->equal) {
    std::cout << report::VerifyEqualText(*v, (*src)->size());
  } else {
    std::cerr << "ferry: " << report::VerifyDiffsText(*v) << std::flush;
  }
  return v->equal ? kExitOk : kExitMismatch;
}

int RunStatus(const std::string& path, bool json) {
  if (auto w = ReadWatchStatus(path); w.ok()) {
    std::cout << (json ? WatchStatusJson(w->stats, w->running) + "\n" : WatchStatusText(*w)) << std::flush;
    return kExitOk;
  } else if (w.status().code() == StatusCode::kCorrupt) {
    return Fail(kExitFailure, w.status());
  }
  auto st = ReadMigrationStatus(path);
  if (!st.ok()) return Fail(kExitFailure, st.status());
  std::cout << (json ? report::MigrationStatusJson(*st) + "\n" : report::MigrationStatusText(*st)) << std::flush;
  return kExitOk;
}

void AddMigrateCommand(CLI::App& app, std::function<int()>* run) {
  auto a = std::make_shared<MigrateArgs>();
  MigrateArgs& ma = *a;
  auto* migrate = app.add_subcommand("migrate", "Copy SRC to DST: sparse-aware, resumable with --journal.");
  migrate->add_option("SRC", ma.src, "source path or NBD URI (only read)")->required();
  migrate->add_option("DST", ma.dst, "destination path or NBD URI; a missing file is created at SRC's size")
      ->required();
  migrate->add_option("--journal", ma.journal,
                      "keep progress in FILE; rerunning the same command resumes after a crash")
      ->option_text("FILE");
  migrate->add_option("--granule", ma.granule, "tracking unit, a power of two >= 4K (default: 64K)")
      ->option_text("SIZE")
      ->capture_default_str();
  migrate->add_option("--min-chunk", ma.min_chunk, "smallest copy request (default: the granule)")
      ->option_text("SIZE");
  migrate->add_option("--max-chunk", ma.max_chunk, "largest copy request (default: 2M)")->option_text("SIZE");
  migrate->add_option("--threads", ma.threads,
                      "copy workers: they send reads to SRC and write the answers to DST (NBD: "
                      "asynchronously; a file: each does its own) (default: one per processor core, 2 to 16)")
      ->option_text("N");
  migrate->add_option("--requests", ma.requests,
                      "copy requests in flight at most; how many are is the link controller's choice")
      ->option_text("N")
      ->capture_default_str();
  migrate->add_option("--source-timeout", ma.source_timeout,
                      "when an NBD SRC is lost (server restarted, network down, or silent this long with requests "
                      "owed), it is connected again with backoff; the copy waits this long, then stops with "
                      "the journal intact (default: 30s)")
      ->option_text("DURATION");
  migrate->add_option("--rate", ma.rate, "limit reads from SRC to BYTES per second (e.g. 100M); default unlimited")
      ->option_text("BYTES");
  migrate->add_flag("--verify", ma.verify, "compare SRC and DST after the copy (exit 3 on a difference)");
  migrate->add_flag("--release-source", ma.release_source,
                    "after a successful --verify, discard SRC's blocks (punch hole / BLKDISCARD / NBD trim)");
  migrate->add_option("--progress", ma.progress, "auto (bar on a terminal; the default), bar, json (lines on stdout) or none")
      ->option_text("MODE")
      ->capture_default_str();
  migrate->add_flag("--json", ma.json, "print the summary as one JSON object on stdout");
  migrate->add_option("--policy", ma.policy, "copy order: adaptive (the default: hottest first, heat-sized chunks), "
                                             "heat, dmclone or qemu-stream (ascending)")
      ->option_text("POLICY");
  AddHistoryOptions(migrate, &ma.history, "copy where it was hottest first");
  migrate->add_option("--predictor", ma.predictor, "with --history: none (the default), stride, markov, lstm, "
                                                   "ensemble (all three) or members joined by + (stride+markov); what "
                                                   "it predicts the workload touches next is copied first")
      ->option_text("NAME");
  migrate->add_option("--model", ma.model, "an LSTM model from 'ferry train' (implies --predictor lstm unless "
                                           "ensemble is given)")
      ->option_text("FILE");
  migrate->callback([run, a] { *run = [a] { return RunMigrate(*a); }; });
}

void AddVerifyCommand(CLI::App& app, std::function<int()>* run) {
  struct VerifyArgs {
    std::string src, dst, progress = "auto";
    int threads = VerifyOptions{}.threads;
    bool json = false;
  };
  auto a = std::make_shared<VerifyArgs>();
  auto* verify = app.add_subcommand("verify", "Compare SRC and DST, byte for byte, in parallel.");
  verify->add_option("SRC", a->src, "source path or NBD URI")->required();
  verify->add_option("DST", a->dst, "destination path or NBD URI")->required();
  verify->add_option("--threads", a->threads, "requests in flight (default: 4)")->option_text("N")->capture_default_str();
  verify->add_option("--progress", a->progress, "auto (the default), bar, json or none")->option_text("MODE")->capture_default_str();
  verify->add_flag("--json", a->json, "print the result as one JSON object");
  verify->callback([run, a] { *run = [a] { return RunVerify(a->src, a->dst, a->threads, a->json, a->progress); }; });
}

void AddStatusCommand(CLI::App& app, std::function<int()>* run) {
  struct StatusArgs {
    std::string path;
    bool json = false;
  };
  auto a = std::make_shared<StatusArgs>();
  auto* status = app.add_subcommand("status", "Show the progress recorded in a migration journal (with the live "
                                              "figures of a running ferry serve), or a ferry watch's status file.");
  status->add_option("JOURNAL", a->path, "the journal given to ferry migrate or serve --journal, or the FILE given to "
                                       "ferry watch --status")
      ->required();
  status->add_flag("--json", a->json, "print as one JSON object");
  status->callback([run, a] { *run = [a] { return RunStatus(a->path, a->json); }; });
}

}  // namespace

int Fail(int code, const std::string& message) {
  std::cerr << "ferry: " << message << std::endl;
  return code;
}
int FailPredictor(const Status& s) { return Fail(s.code() == StatusCode::kNotSupported ? kExitFailure : kExitUsage, s.message()); }

int Main(int argc, char** argv) {
  CLI::App app{
      "ferry: migrate a block volume from a source to a destination.\n"
      "SRC and DST are paths (regular files, block devices) or NBD URIs\n"
      "(nbd://host[:port]/export, nbds://..., nbd+unix:///export?socket=PATH).\n"
      "Exit status: 0 ok, 1 failure, 2 usage error, 3 verification mismatch.",
      "ferry"};
  app.set_version_flag("--version",
                       std::string("ferry ") + FERRY_VERSION + (LstmBuilt() ? "" : " (built without the LSTM predictor)"));
  app.require_subcommand(1);

  std::function<int()> run;
  AddMigrateCommand(app, &run);
  AddVerifyCommand(app, &run);
  AddStatusCommand(app, &run);
  AddTraceCommands(app, &run);
  AddHeatCommand(app, &run);
  AddSimulateCommand(app, &run);
  AddTrainCommand(app, &run);
  AddServeCommand(app, &run);
  AddWatchCommand(app, &run);
  AddControlCommand(app, &run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return Fail(kExitUsage, std::string(e.what()) + "; see 'ferry --help'");
  }
  if (run) return run();
  return Fail(kExitUsage, "no command given; see 'ferry --help'");
}

}  // namespace ferry::cli
