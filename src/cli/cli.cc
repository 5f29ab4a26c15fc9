// The ferry command line. Thin: parse, call the library, print, choose the exit code.
#include "cli/cli.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <ctime>
#include <iostream>
#include <optional>
#include <nlohmann/json.hpp>

#include "cli/progress.h"
#include "cli/analysis_commands.h"
#include "cli/trace_commands.h"
#include "cli/trace_input.h"
#include "engine/live_status.h"
#include "predict/lstm.h"
#include "predict/predictor.h"
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

struct SizeArg {
  std::string text;
  const char* flag;
  uint64_t* out;
};

Status ParseSizes(std::initializer_list<SizeArg> args) {
  for (const auto& a : args) {
    if (a.text.empty()) continue;
    FERRY_ASSIGN_OR_RETURN(*a.out, ParseSize(a.text, a.flag));
  }
  return OkStatus();
}

nlohmann::json RangesJson(const std::vector<Range>& ranges) {
  auto out = nlohmann::json::array();
  for (const auto& r : ranges) out.push_back({{"offset", r.offset}, {"length", r.length}});
  return out;
}

nlohmann::json VerifyJson(const VerifyResult& v) {
  return {{"equal", v.equal},
          {"differing", RangesJson(v.differing)},
          {"bytes_compared", v.bytes_compared},
          {"bytes_skipped", v.bytes_skipped},
          {"seconds", v.seconds}};
}

void PrintDiffs(const VerifyResult& v) {
  std::cerr << "ferry: volumes differ; first differing ranges:\n";
  for (const auto& r : v.differing) {
    std::cerr << fmt::format("  offset {} length {} ({} at {})\n", r.offset, r.length, FormatSize(r.length),
                             FormatSize(r.offset));
  }
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
  FERRY_RETURN_IF_ERROR(ParseSizes({{a.granule, "--granule", &o.granule_size},
                                    {a.min_chunk, "--min-chunk", &min_chunk},
                                    {a.max_chunk, "--max-chunk", &max_chunk},
                                    {a.rate, "--rate", &o.rate_limit}}));
  o.min_chunk = min_chunk ? min_chunk : o.granule_size;
  o.max_chunk = max_chunk ? max_chunk : std::max(o.max_chunk, o.min_chunk);
  o.threads = a.threads;
  o.max_in_flight = a.requests;
  if (!a.source_timeout.empty()) {
    FERRY_ASSIGN_OR_RETURN(auto d, ParseDuration(a.source_timeout, "--source-timeout"));
    o.source_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(d);
  }
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

// The summary of a finished copy: JSON (printed at the end) and, without --json, text now.
nlohmann::json MigrateSummary(const MigrateArgs& a, const MigrateStats& st, const Predictor* predictor,
                              uint64_t granule) {
  const double rate = st.seconds > 0 ? (st.volume_size - st.bytes_resumed) / st.seconds : 0.0;
  nlohmann::json summary = {{"source", a.src},
                            {"destination", a.dst},
                            {"volume_size", st.volume_size},
                            {"bytes_copied", st.bytes_copied},
                            {"bytes_skipped", st.bytes_skipped},
                            {"bytes_resumed", st.bytes_resumed},
                            {"copy_ops", st.copy_ops},
                            {"retries", st.retries},
                            {"source_outages", st.source.outages},
                            {"source_down_seconds", st.source.down_seconds},
                            {"chunk_size", st.final_chunk_size},
                            {"seconds", st.seconds},
                            {"throughput_bps", rate},
                            {"predictor", predictor ? predictor->name() : "none"},
                            {"predicted_bytes", st.predicted_granules * granule},
                            {"verify", nullptr},
                            {"source_released", false}};
  if (a.json) return summary;
  std::string this_run = st.bytes_resumed == 0 ? FormatSize(st.volume_size)
                                               : fmt::format("{} ({} this run)", FormatSize(st.volume_size),
                                                             FormatSize(st.volume_size - st.bytes_resumed));
  std::cout << fmt::format("migrated {} to {}: {} in {:.2f} s ({})\n", a.src, a.dst, this_run, st.seconds,
                           FormatRate(rate));
  std::cout << fmt::format("  copied {}, skipped {} (holes and zeroes), already present {}; {} copy operations",
                           FormatSize(st.bytes_copied), FormatSize(st.bytes_skipped), FormatSize(st.bytes_resumed),
                           st.copy_ops);
  if (st.retries) std::cout << fmt::format(", {} retries", st.retries);
  std::cout << fmt::format(", last chunk size {}\n", FormatSize(st.final_chunk_size));
  if (predictor) {
    std::cout << fmt::format("  predictor {}: {} predicted from the history, copied first\n", predictor->name(),
                             FormatSize(st.predicted_granules * granule));
  }
  std::cout << std::flush;
  return summary;
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
  (*summary)["verify"] = VerifyJson(c->verify);
  (*summary)["source_released"] = c->released;
  if (!c->verify.equal) {
    if (!a.json) PrintDiffs(c->verify);
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

  std::unique_ptr<Predictor> predictor;
  if (choice.predictor != "none") {
    PredictorConfig pc;
    pc.model = a.model;
    pc.granule_size = o.granule_size;
    pc.background_training = false;  // it trains once, on the history, before the copy
    auto p = MakePredictor(choice.predictor, pc);
    if (!p.ok()) return Fail(p.status().code() == StatusCode::kNotSupported ? kExitFailure : kExitUsage, p.status());
    predictor = std::move(p).value();
    o.predictor = predictor.get();
  }
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
  if (journal && journal->state() == JournalState::kReleased) {
    if (a.json) {
      std::cout << nlohmann::json{{"source", a.src}, {"destination", a.dst}, {"nothing_to_do", true},
                                  {"state", JournalStateName(journal->state())}}
                       .dump()
                << std::endl;
    } else {
      std::cout << "the migration recorded in " << a.journal
                << " is complete and its source was released; nothing to do\n";
    }
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
  nlohmann::json summary = MigrateSummary(a, *stats, predictor.get(), o.granule_size);
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
    std::cout << VerifyJson(*v).dump() << std::endl;
  } else if (v->equal) {
    std::cout << fmt::format("volumes are equal: {} compared ({} read, {} known zero on both sides) in {:.2f} s\n",
                             FormatSize((*src)->size()), FormatSize(v->bytes_compared),
                             FormatSize(v->bytes_skipped), v->seconds);
  } else {
    PrintDiffs(*v);
  }
  return v->equal ? kExitOk : kExitMismatch;
}

// `ferry status FILE` of a `ferry watch --status FILE`.
// The live part of `ferry status` for a running `ferry serve`.
void PrintLiveStatus(const LiveStatusRecord& live) {
  const LiveStats& st = live.stats;
  std::cout << fmt::format("live:         {:.1f}% present, {}{}{}\n", PercentPresent(st), FormatRate(st.rate_bps),
                           st.paused ? ", paused: " + st.paused_reason : "",
                           st.complete ? ", complete: serving from the destination" : "")
            << fmt::format("requests:     {} reads ({} waited for the source, {:.2f}%: {} first touches, {} seen "
                           "before), {} writes ({} waited)\n",
                           st.reads, st.read_stalls,
                           st.reads ? 100.0 * static_cast<double>(st.read_stalls) / static_cast<double>(st.reads) : 0.0,
                           st.read_stalls_first_touch, st.read_stalls_seen, st.writes, st.write_stalls);
  if (st.reads) {
    std::cout << fmt::format("read latency: p50 {:.0f} us, p99 {:.0f} us (time in ferry)", st.read_p50_us,
                             st.read_p99_us);
    if (st.read_stalls) {
      std::cout << fmt::format("; of the reads that waited: p50 {:.0f} us, p99 {:.0f} us, {} on average",
                               st.read_miss_p50_us, st.read_miss_p99_us, FormatSize(st.read_miss_bytes / st.read_stalls));
    }
    std::cout << "\n";
  }
  if (!st.conclusion.empty()) std::cout << fmt::format("end:          {}\n", st.conclusion);
  const LiveLink& l = st.link;
  std::cout << fmt::format("source link:  base latency {:.2f} ms, delivery {}, queueing {:.2f} ms (target {:.2f} ms); "
                           "in flight {} ({} copies, budget {}){}\n",
                           l.base_latency_ms, FormatRate(l.delivery_rate), l.queue_delay_ms, l.latency_target_ms,
                           FormatSize(l.in_flight), FormatSize(l.copy_in_flight), FormatSize(l.budget),
                           l.app_active ? ", application waiting" : ", application idle");
  if (live.predictor != "none") {
    std::cout << fmt::format("predictor:    {}: precision {:.3f}, recall {:.3f}, timeliness {:.3f}, {} queued; "
                             "{} stalls prevented\n",
                             live.predictor, st.precision, st.recall, st.timeliness, FormatSize(st.predicted_bytes),
                             st.prevented_stalls);
  }
  if (st.copy_errors) {
    std::cout << fmt::format("errors:       {} copies failed, last: {}\n", st.copy_errors, st.last_error);
  }
  if (st.source.outages) {
    const double now_down = st.source.down_now_seconds;
    std::cout << fmt::format("source:       {}; lost {} times, {:.1f} s without it in all\n",
                             now_down > 0 ? fmt::format("LOST {:.1f} s ago, reconnecting (reads of data not on the "
                                                        "destination wait for it, then fail)", now_down)
                                          : std::string("connected"),
                             st.source.outages, st.source.down_seconds);
  }
  if (st.read_errors) {
    std::cout << fmt::format("errors:       {} reads failed on the source (EIO to the client), last: {}\n",
                             st.read_errors, st.last_error);
  }
}

int RunStatus(const std::string& path, bool json) {
  if (auto w = ReadWatchStatus(path); w.ok()) {
    std::cout << (json ? WatchStatusJson(w->stats, w->running) + "\n" : WatchStatusText(*w)) << std::flush;
    return kExitOk;
  } else if (w.status().code() == StatusCode::kCorrupt) {
    return Fail(kExitFailure, w.status());
  }
  auto info = Journal::Inspect(path);
  if (!info.ok()) return Fail(kExitFailure, info.status());
  const JournalInfo& i = *info;
  double pct = i.identity.volume_size ? 100.0 * static_cast<double>(i.present_bytes) /
                                            static_cast<double>(i.identity.volume_size)
                                      : 100.0;
  const char* activity = i.locked ? "running" : i.state == JournalState::kCopying ? "interrupted" : "finished";
  // A running `ferry serve` also keeps a live status file beside the journal.
  nlohmann::json live_json;
  std::optional<LiveStatusRecord> live;
  if (i.locked) {
    if (auto l = ReadLiveStatus(LiveStatusPath(path)); l.ok()) {
      if (auto r = LiveStatusOf(*l); r.ok() && r->running) {
        live_json = *l;
        live = *r;
      }
    }
  }
  if (json) {
    nlohmann::json j = {{"journal", path},
                        {"migration_id", i.migration_id},
                        {"source", i.identity.source},
                        {"destination", i.identity.destination},
                        {"volume_size", i.identity.volume_size},
                        {"granule_size", i.identity.granule_size},
                        {"granule_count", i.granule_count},
                        {"present_granules", i.present_granules},
                        {"present_bytes", i.present_bytes},
                        {"percent", pct},
                        {"state", JournalStateName(i.state)},
                        {"activity", activity},
                        {"generation", i.generation},
                        {"writer_pid", i.writer_pid},
                        {"created_unix", i.created_unix},
                        {"committed_unix", static_cast<double>(i.committed_unix_ns) / 1e9}};
    if (live) j["live"] = live_json;
    std::cout << j.dump() << std::endl;
    return kExitOk;
  }
  time_t committed = static_cast<time_t>(i.committed_unix_ns / 1000000000);
  char when[64];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::localtime(&committed));
  std::cout << fmt::format("journal:      {} (migration {})\n", path, i.migration_id)
            << fmt::format("source:       {}\n", i.identity.source)
            << fmt::format("destination:  {}\n", i.identity.destination)
            << fmt::format("volume:       {} ({} bytes) in {} granules of {}\n", FormatSize(i.identity.volume_size),
                           i.identity.volume_size, i.granule_count, FormatSize(i.identity.granule_size))
            << fmt::format("progress:     {:.1f}% ({} of {} granules present, {})\n", pct, i.present_granules,
                           i.granule_count, FormatSize(i.present_bytes))
            << fmt::format("state:        {}, {}{}\n", JournalStateName(i.state), activity,
                           i.locked ? fmt::format(" (pid {})", i.writer_pid)
                           : i.state == JournalState::kCopying
                               ? ": rerun the same ferry migrate command to resume"
                               : "")
            << fmt::format("last commit:  {} (generation {})\n", when, i.generation);
  if (live) PrintLiveStatus(*live);
  return kExitOk;
}

}  // namespace

int Fail(int code, const std::string& message) {
  std::cerr << "ferry: " << message << std::endl;
  return code;
}

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

  MigrateArgs ma;
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
                      "copy workers: they send reads to SRC (NBD: asynchronously; a file: each reads its own) "
                      "and write the answers to DST (default: one per processor core, 2 to 16)")
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
  migrate->add_option("--predictor", ma.predictor, "with --history: none (the default), stride, markov, lstm or "
                                                   "ensemble; what it predicts the workload touches next is copied "
                                                   "first")
      ->option_text("NAME");
  migrate->add_option("--model", ma.model, "an LSTM model from 'ferry train' (implies --predictor lstm unless "
                                           "ensemble is given)")
      ->option_text("FILE");

  std::string vsrc, vdst, vprogress = "auto";
  int vthreads = VerifyOptions{}.threads;
  bool vjson = false;
  auto* verify = app.add_subcommand("verify", "Compare SRC and DST, byte for byte, in parallel.");
  verify->add_option("SRC", vsrc, "source path or NBD URI")->required();
  verify->add_option("DST", vdst, "destination path or NBD URI")->required();
  verify->add_option("--threads", vthreads, "requests in flight (default: 4)")->option_text("N")->capture_default_str();
  verify->add_option("--progress", vprogress, "auto (the default), bar, json or none")->option_text("MODE")->capture_default_str();
  verify->add_flag("--json", vjson, "print the result as one JSON object");

  std::string jpath;
  bool sjson = false;
  auto* status = app.add_subcommand("status", "Show the progress recorded in a migration journal (with the live "
                                              "figures of a running ferry serve), or a ferry watch's status file.");
  status->add_option("JOURNAL", jpath, "the journal given to ferry migrate or serve --journal, or the FILE given to "
                                       "ferry watch --status")
      ->required();
  status->add_flag("--json", sjson, "print as one JSON object");

  std::function<int()> run_trace;
  AddTraceCommands(app, &run_trace);
  AddHeatCommand(app, &run_trace);
  AddSimulateCommand(app, &run_trace);
  AddTrainCommand(app, &run_trace);
  AddServeCommand(app, &run_trace);
  AddWatchCommand(app, &run_trace);
  AddControlCommand(app, &run_trace);

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
  if (migrate->parsed()) return RunMigrate(ma);
  if (verify->parsed()) return RunVerify(vsrc, vdst, vthreads, vjson, vprogress);
  if (status->parsed()) return RunStatus(jpath, sjson);
  if (run_trace) return run_trace();
  return Fail(kExitUsage, "no command given; see 'ferry --help'");
}

}  // namespace ferry::cli
