// nbdkit-ferry-plugin: exports a volume while ferry migrates it (`ferry serve`, or
// `nbdkit ferry source=SRC dest=DST journal=J`; docs/cli.md "serve"). A thin adapter:
// nbdkit speaks NBD, LiveMigration (ferry/live.h) does the rest.
//
// Parameters are checked in config_complete; get_ready opens the volumes and the
// journal once to report any error before nbdkit serves (and before it forks), and
// closes them; after_fork opens them again and starts the background threads (threads
// do not survive nbdkit's fork). The thread model is parallel and multi-conn is safe:
// every connection shares the one migration, and a flush on any of them flushes the
// destination and commits the journal.
#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "ferry/engine.h"
#include "ferry/live.h"
#include "ferry/policy.h"
#include "ferry/watch.h"
#include "ferry/units.h"
#include "engine/control.h"
#include "engine/live_status.h"
#include "engine/metrics.h"
#include "predict/predictor.h"
#include "heat/profile.h"
#include "report/heat_report.h"
#include "report/html.h"
#include "report/live_report.h"
#include "trace/load.h"
#include "trace/recorder.h"

#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL

namespace ferry {
namespace {

struct Config {
  std::string source, dest, journal, model, predictor = "none", policy = "adaptive", report, metrics, record;
  // history=TRACE (repeatable) and how to read it (trace/load.h).
  std::vector<std::string> history;
  HistoryOptions history_options;
  uint64_t granule = 64 << 10, rate = 0, min_chunk = 0, max_chunk = 0, min_rate = 0;
  std::chrono::nanoseconds latency_target{0};
  std::chrono::milliseconds source_timeout = MigrateOptions{}.source_timeout;
  int threads = MigrateOptions{}.threads;
  int requests = MigrateOptions{}.max_in_flight;
  bool exit_when_done = false, verify = false, release_source = false;
  // watch=true (`ferry watch`): the source itself is served, nothing copied; status=FILE.
  bool watch = false;
  std::string status;
  MigrateOptions options;
};

Config g_config;
std::vector<IoEvent> g_history;  // loaded by get_ready, before nbdkit forks
std::unique_ptr<TraceRecorder> g_record;
std::unique_ptr<LiveMigration> g_live;
std::unique_ptr<WatchedSource> g_watch;
Export* g_export = nullptr;  // what the connections serve: g_live or g_watch
std::unique_ptr<StatusWriter> g_status;
std::unique_ptr<ControlServer> g_control;
// verify=true: the verify (and release) once complete runs on this thread, started by
// the completion callback unless Cleanup has begun (both under g_conclude_mu).
std::mutex g_conclude_mu;
std::thread g_conclude;
bool g_cleaning_up = false;
std::atomic<bool> g_conclude_cancel{false};

// FERRY_FAULT_THROW=NAME: the callback NAME throws before it runs (fault injection, as
// nbdkit's error filter injects errors: the test that proves Guard). Read at load.
const char* g_throw_in = nullptr;

// No exception crosses into nbdkit's C code (DESIGN.md "Faults"): every callback runs
// through Guard<kName, F>::Call, which turns one into an nbdkit error naming the
// callback and answers EIO (-1, or null for open).
template <const char* kName, auto F>
struct Guard;
template <const char* kName, typename R, typename... A, R (*F)(A...)>
struct Guard<kName, F> {
  static R Call(A... args) noexcept {
    try {
      if (g_throw_in && std::strcmp(g_throw_in, kName) == 0) {
        throw std::runtime_error("thrown on purpose (FERRY_FAULT_THROW)");
      }
      return F(args...);
    } catch (const std::exception& e) {
      nbdkit_error("%s: unexpected exception: %s", kName, e.what());
    } catch (...) {
      nbdkit_error("%s: unexpected exception", kName);
    }
    nbdkit_set_error(EIO);
    if constexpr (std::is_void_v<R>) {
      return;
    } else if constexpr (std::is_pointer_v<R>) {
      return nullptr;
    } else {
      return -1;
    }
  }
};

int Errno(const Status& s) {
  switch (s.code()) {
    case StatusCode::kNotSupported: return EOPNOTSUPP;
    case StatusCode::kInvalidArgument: return EINVAL;
    case StatusCode::kPermissionDenied: return EPERM;
    case StatusCode::kNoSpace: return ENOSPC;
    default: return EIO;
  }
}

// Reports a failed request to nbdkit: the message to its log, the errno to the client.
int Fail(const Status& s) {
  nbdkit_error("%s", s.message().c_str());
  nbdkit_set_error(Errno(s));
  return -1;
}

int ParseSizeParam(const char* key, const char* value, uint64_t* out) {
  auto v = ParseSize(value, key);
  if (!v.ok()) {
    nbdkit_error("%s", v.status().message().c_str());
    return -1;
  }
  *out = *v;
  return 0;
}

int ConfigKey(const char* key, const char* value) {
  const std::string k = key;
  Config& c = g_config;
  if (k == "source") {
    c.source = value;
  } else if (k == "dest" || k == "destination") {
    c.dest = value;
  } else if (k == "journal") {
    c.journal = value;
  } else if (k == "policy") {
    c.policy = value;
  } else if (k == "predictor") {
    c.predictor = value;
  } else if (k == "model") {
    c.model = value;
  } else if (k == "report") {
    c.report = value;
  } else if (k == "metrics") {
    c.metrics = value;
  } else if (k == "record") {
    c.record = value;
  } else if (k == "status") {
    c.status = value;
  } else if (k == "history") {
    c.history.push_back(value);
  } else if (k == "history-format") {
    auto f = ParseTraceFormat(value);
    if (!f.ok()) {
      nbdkit_error("history-format: %s", f.status().message().c_str());
      return -1;
    }
    c.history_options.format = *f;
  } else if (k == "history-dev") {
    uint32_t dev;
    if (nbdkit_parse_uint32_t("history-dev", value, &dev) == -1) return -1;
    c.history_options.device = dev;
  } else if (k == "history-time-scale") {
    char* end = nullptr;
    c.history_options.time_scale = std::strtod(value, &end);
    if (!end || *end || !(c.history_options.time_scale > 0)) {
      nbdkit_error("history-time-scale=%s: give a positive number, e.g. 0.5", value);
      return -1;
    }
  } else if (k == "granule") {
    return ParseSizeParam(key, value, &c.granule);
  } else if (k == "min-chunk") {
    return ParseSizeParam(key, value, &c.min_chunk);
  } else if (k == "max-chunk") {
    return ParseSizeParam(key, value, &c.max_chunk);
  } else if (k == "rate") {
    return ParseSizeParam(key, value, &c.rate);
  } else if (k == "min-rate") {
    return ParseSizeParam(key, value, &c.min_rate);
  } else if (k == "latency-target") {
    auto d = ParseDuration(value, "latency-target");
    if (!d.ok()) {
      nbdkit_error("%s", d.status().message().c_str());
      return -1;
    }
    c.latency_target = *d;
  } else if (k == "source-timeout") {
    auto d = ParseDuration(value, "source-timeout");
    if (!d.ok()) {
      nbdkit_error("%s", d.status().message().c_str());
      return -1;
    }
    c.source_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  } else if (k == "threads") {
    if (nbdkit_parse_int("threads", value, &c.threads) == -1) return -1;
  } else if (k == "requests") {
    if (nbdkit_parse_int("requests", value, &c.requests) == -1) return -1;
  } else if (k == "verify" || k == "release-source" || k == "exit-when-done" || k == "history-strict" || k == "watch") {
    const int b = nbdkit_parse_bool(value);
    if (b == -1) return -1;
    (k == "verify" ? c.verify : k == "release-source" ? c.release_source : k == "exit-when-done" ? c.exit_when_done
     : k == "watch" ? c.watch : c.history_options.read.strict) = b;
  } else {
    nbdkit_error("unknown parameter '%s': see 'nbdkit ferry --help'", key);
    return -1;
  }
  return 0;
}

// In a sanitizer build, nbdkit's exit after a configuration error could deadlock in its
// exit handlers under the preloaded runtime (see Unload): the error is printed, so end here.
int ExitIfSanitized(int r) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  if (r == -1) {
    std::fflush(nullptr);
    ::_exit(1);
  }
#endif
  return r;
}

// Output files: found out now, not when the run ends.
int CheckOutputs() {
  const Config& c = g_config;
  for (const auto& [key, path, what] : {std::tuple{"report", c.report, "a report"}, {"metrics", c.metrics, "a metrics"},
                                        {"status", c.status, "a status"}}) {
    if (path.empty()) continue;
    const std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/') + 1);
    if (::access(dir.c_str(), W_OK) != 0) {
      nbdkit_error("%s=%s: cannot write in %s (%s): give %s path in a writable directory", key, path.c_str(),
                   dir.c_str(), std::strerror(errno), what);
      return -1;
    }
  }
  return 0;
}

int CheckWatchConfig() {
  const Config& c = g_config;
  if (c.source.empty()) {
    nbdkit_error("source= is required: nbdkit ferry watch=true source=SRC");
    return -1;
  }
  if (!c.dest.empty() || !c.journal.empty() || !c.history.empty() || c.verify) {
    nbdkit_error("watch=true serves the source itself: no dest=, journal=, history= or verify=");
    return -1;
  }
  if (!c.record.empty()) {
    if (Status s = TraceRecorder::CheckCreatable(c.record); !s.ok()) {
      nbdkit_error("%s", s.message().c_str());
      return -1;
    }
  }
  return CheckOutputs();
}

int CheckConfig() {
  Config& c = g_config;
  if (c.watch) return CheckWatchConfig();
  if (c.source.empty() || c.dest.empty() || c.journal.empty()) {
    nbdkit_error("source=, dest= and journal= are required: nbdkit ferry source=SRC dest=DST journal=FILE");
    return -1;
  }
  if (c.release_source && !c.verify) {
    nbdkit_error("release-source=true needs verify=true: the source is released only after a successful verify");
    return -1;
  }
  MigrateOptions& o = c.options;
  o.granule_size = c.granule;
  o.min_chunk = c.min_chunk ? c.min_chunk : c.granule;
  o.max_chunk = c.max_chunk ? c.max_chunk : std::max(o.max_chunk, o.min_chunk);
  o.threads = c.threads;
  o.max_in_flight = c.requests;
  o.rate_limit = c.rate;
  o.min_rate = c.min_rate;
  o.latency_target = c.latency_target;
  o.source_timeout = c.source_timeout;
  if (Status s = ValidateMigrateOptions(o); !s.ok()) {
    nbdkit_error("%s", s.message().c_str());
    return -1;
  }
  auto choice = ChoosePolicy(c.policy, c.predictor, c.model, PolicyUse::kServe, !c.history.empty());
  if (!choice.ok()) {
    nbdkit_error("%s", choice.status().message().c_str());
    return -1;
  }
  o.policy = choice->policy;
  c.predictor = choice->predictor;
  if (!c.record.empty()) {
    if (Status s = TraceRecorder::CheckCreatable(c.record); !s.ok()) {
      nbdkit_error("%s", s.message().c_str());
      return -1;
    }
  }
  return CheckOutputs();
}

int ConfigComplete() { return ExitIfSanitized(CheckConfig()); }

Result<std::unique_ptr<Predictor>> NewPredictor() {
  const Config& c = g_config;
  PredictorConfig pc;
  pc.model = c.model;
  pc.granule_size = c.granule;
  pc.background_training = true;
  return MakePredictor(c.predictor, pc);  // ChoosePolicy resolved it
}

// verify=true, once every granule is present: the destination is compared with the
// source, skipping what the application wrote; with release-source=true, the source's
// blocks are discarded after an equal verify, and never otherwise. The outcome goes to
// the status (conclusion) and the summary; exit-when-done stops nbdkit after it.
void Conclude() {
  const Config& c = g_config;
  g_live->SetConclusion("verifying the destination against the source");
  OpenOptions ro;
  ro.reconnect_timeout = c.options.source_timeout;
  auto src = OpenVolume(c.source, ro);
  std::unique_ptr<Volume> view = g_live->View();
  ConcludeOptions co;
  co.verify.threads = 4;
  co.verify.cancel = &g_conclude_cancel;
  co.verify.written = [](uint64_t offset, uint64_t length) { return g_live->Written(offset, length); };
  co.release = c.release_source;
  co.source_spec = c.source;
  co.source_open = ro;
  co.record = [](JournalState st) { return g_live->RecordState(st); };
  if (const std::string why = g_live->WrittenUnknown(); !why.empty()) {
    co.refuse_release = "which granules the application wrote is not known (" + why + ")";
  }
  Result<ConcludeResult> r = src.ok() ? VerifyAndRelease(std::move(src).value(), *view, co)
                                      : Result<ConcludeResult>(src.status().WithContext("verify: source"));
  std::string what;
  if (!r.ok()) {
    what = "verify failed: " + r.status().message() + "; the source is kept";
  } else if (!r->verify.equal) {
    const Range& d = r->verify.differing.front();
    what = fmt::format("verify found differences (first at offset {}, {} bytes) where the application did not "
                       "write; the source is kept: run ferry verify to see them",
                       d.offset, d.length);
    if (!co.refuse_release.empty()) what += " (" + co.refuse_release + ": they may be its writes)";
  } else {
    what = fmt::format("verified equal ({} compared, {} written by the application)",
                       FormatSize(r->verify.bytes_compared), FormatSize(r->verify.bytes_written));
    if (r->released) what += "; the source was released: its blocks were discarded";
    if (!r->release_refused.empty()) what += "; the source is kept: " + r->release_refused;
  }
  g_live->SetConclusion(what);
  if (!r.ok() || !r->verify.equal) nbdkit_error("%s", what.c_str());
  if (c.exit_when_done && !g_conclude_cancel) nbdkit_shutdown();
}

// watch=true: opens the source writable and serves it (start), or only checks that it
// can be opened (!start).
int OpenWatch(bool start) {
  const Config& c = g_config;
  OpenOptions o;
  o.writable = true;
  auto src = OpenVolume(c.source, o);
  if (!src.ok()) {
    nbdkit_error("source: %s", src.status().message().c_str());
    return -1;
  }
  if (!start) return 0;
  WatchOptions wo;
  wo.record = c.record;
  wo.status = c.status;
  wo.granule_size = c.granule;
  auto w = WatchedSource::Start(std::move(src).value(), wo);
  if (!w.ok()) {
    nbdkit_error("%s", w.status().message().c_str());
    return -1;
  }
  g_watch = std::move(w).value();
  g_export = g_watch.get();
  return 0;
}

// Opens the volumes, the journal and the predictor, and starts the migration (start) or
// only checks that all of it can be done (!start).
int OpenAll(bool start) {
  const Config& c = g_config;
  if (c.watch) return OpenWatch(start);
  auto predictor = NewPredictor();
  if (!predictor.ok()) {
    nbdkit_error("%s", predictor.status().message().c_str());
    return -1;
  }
  auto opened = OpenMigration(c.source, c.dest, c.journal, c.granule, c.options.source_timeout);
  if (!opened.ok()) {
    nbdkit_error("%s", opened.status().message().c_str());
    return -1;
  }
  if (opened->journal->state() >= JournalState::kReleased) {
    nbdkit_error("the migration recorded in %s released its source: serve the destination %s itself",
                 c.journal.c_str(), c.dest.c_str());
    return -1;
  }
  if (!start) return 0;
  std::function<void()> on_complete;
  if (c.verify) {
    on_complete = [] {
      std::lock_guard<std::mutex> lock(g_conclude_mu);
      if (!g_cleaning_up) g_conclude = std::thread(Conclude);
    };
  } else if (c.exit_when_done) {
    on_complete = [] { nbdkit_shutdown(); };
  }
  MigrateOptions o = c.options;
  if (!g_history.empty()) o.history = &g_history;
  if (!c.record.empty()) {
    auto r = TraceRecorder::Create(c.record, c.source);
    if (!r.ok()) {
      nbdkit_error("%s", r.status().message().c_str());
      return -1;
    }
    g_record = std::move(r).value();
    o.on_request = [rec = g_record.get()](IoOp op, uint64_t offset, uint64_t length) { rec->Record(op, offset, length); };
  }
  auto live = LiveMigration::Start(std::move(opened->source), std::move(opened->destination),
                                   std::move(opened->journal), std::shared_ptr<Predictor>(std::move(*predictor)),
                                   o, on_complete);
  g_history = {};  // learnt
  if (live.ok()) g_export = live->get();
  if (!live.ok()) {
    nbdkit_error("%s", live.status().message().c_str());
    return -1;
  }
  g_live = std::move(live).value();
  g_status = std::make_unique<StatusWriter>(LiveStatusPath(c.journal), *g_live, c.predictor, c.policy, c.metrics,
                                            c.journal);
  auto control = ControlServer::Start(
      ControlSocketPath(c.journal), *g_live,
      // The same clean stop as SIGTERM (nbdkit_shutdown from this thread left an ASan
      // build deadlocked in exit handlers).
      [] { ::kill(::getpid(), SIGTERM); },
      [] { return LiveStatusJson(g_live->stats(), g_config.predictor, g_config.policy, true).dump(); });
  if (!control.ok()) {
    nbdkit_error("%s", control.status().message().c_str());
    return -1;
  }
  g_control = std::move(control).value();
  return 0;
}

// ferry serve preloads a sanitizer's runtime for a sanitized plugin (serve_command.cc);
// the commands nbdkit starts (--run) get the environment as it was.
void Load() {
  g_throw_in = std::getenv("FERRY_FAULT_THROW");
  if (const char* saved = std::getenv("FERRY_SAVED_LD_PRELOAD")) {
    if (*saved) {
      ::setenv("LD_PRELOAD", saved, 1);
    } else {
      ::unsetenv("LD_PRELOAD");
    }
    ::unsetenv("FERRY_SAVED_LD_PRELOAD");
  }
}

// The history is read once, before nbdkit forks (the child keeps it).
int LoadHistoryOnce() {
  Config& c = g_config;
  if (c.history.empty()) return 0;
  c.history_options.read.on_warning = [](const std::string& w) { nbdkit_debug("history: skipping %s", w.c_str()); };
  c.history_options.on_device_chosen = [](const std::string& path, const LoadedTrace& t) {
    fprintf(stderr, "%s\n", BusiestDeviceNote(path, t, "--history-dev").c_str());
  };
  auto h = LoadHistory(c.history, c.history_options);
  if (!h.ok()) {
    nbdkit_error("--history: %s", h.status().message().c_str());
    return -1;
  }
  g_history = std::move(h).value();
  return 0;
}

int GetReady() {
  if (!g_config.watch && LoadHistoryOnce() == -1) return ExitIfSanitized(-1);
  return ExitIfSanitized(OpenAll(false));
}
int AfterFork() { return OpenAll(true); }

// The end of a watch: the last status, the recording closed, the summary and report.
void CleanupWatch() {
  const Config& c = g_config;
  Status s = g_watch->Stop();
  if (!s.ok()) nbdkit_error("%s", s.message().c_str());
  const WatchStats st = g_watch->stats();
  fprintf(stderr, "%s\n", WatchSummary(st, c.record).c_str());
  if (!c.report.empty()) {
    HeatProfileOptions o;
    o.heat.granule_size = c.granule;
    o.volume_size = st.volume_size;
    const std::string what = fmt::format("The workload on {}, watched by ferry watch: {} requests over {:.1f} s{}",
                                         report::Escape(c.source), st.reads + st.writes, st.seconds,
                                         st.events_dropped ? fmt::format(" (the last {} not shown)", st.events_dropped) : "");
    if (Status w = report::WriteFile(c.report, report::HeatReport("ferry watch: " + c.source, what,
                                                                  BuildHeatProfile(g_watch->events(), o), o));
        w.ok()) {
      fprintf(stderr, "ferry: report %s\n", c.report.c_str());
    } else {
      nbdkit_error("the report: %s", w.message().c_str());
    }
  }
}

void Cleanup() {
  if (g_watch) CleanupWatch();
  if (!g_live) return;
  std::thread conclude;
  {
    std::lock_guard<std::mutex> lock(g_conclude_mu);
    g_cleaning_up = true;
    g_conclude_cancel = true;
    conclude = std::move(g_conclude);
  }
  if (conclude.joinable()) conclude.join();
  g_control.reset();
  g_status.reset();  // stops its thread
  Status s = g_live->Stop();
  const LiveStats st = g_live->stats();
  (void)WriteLiveStatus(LiveStatusPath(g_config.journal), st, g_config.predictor, g_config.policy, /*running=*/false);
  if (!g_config.metrics.empty()) {
    if (Status w = WriteMetrics(g_config.metrics, st, g_config.journal); !w.ok()) nbdkit_error("%s", w.message().c_str());
  }
  if (!s.ok()) nbdkit_error("%s", s.message().c_str());
  fprintf(stderr, "%s\n", LiveSummary(st, g_config.journal).c_str());
  if (g_record) {
    if (Status r = g_record->Close(); r.ok()) {
      fprintf(stderr, "ferry: recorded %llu requests in %s (fio iolog v3; a later migration reads it with --history)\n",
              static_cast<unsigned long long>(g_record->records()), g_config.record.c_str());
    } else {
      nbdkit_error("%s", r.message().c_str());
    }
  }
  if (!g_config.report.empty()) {
    const report::LiveRunInfo info{g_config.source, g_config.dest, g_config.journal, g_config.policy, g_config.predictor};
    if (Status w = report::WriteFile(g_config.report, report::LiveReport(info, st, g_live->history())); w.ok()) {
      fprintf(stderr, "ferry: report %s\n", g_config.report.c_str());
    } else {
      nbdkit_error("the report: %s", w.message().c_str());
    }
  }
  g_live.reset();
}

// In a sanitizer build, nbdkit's exit handlers (p11-kit's, under a preloaded ASan) could
// deadlock on glibc's locale lock after an abort; everything is committed by now, so
// the process ends here. Normal builds return to nbdkit.
void Unload() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  std::fflush(nullptr);
  ::_exit(0);
#endif
}

// One client connection. Its requests' answers go back through Answer(), which works
// around nbdkit 1.32.4 to 1.33.9's abort (`raw_send_socket: Assertion 'sock >= 0'`,
// fixed upstream by nbdkit commit 9d82aa4f): when a client leaves with requests in
// flight, the first reply to fail closes the socket, and a worker that checked the
// connection before that and sends after it aborts the whole server, every other
// client with it. So once the client is gone, this connection's answers leave one at a
// time, kGoneReplyGap apart: each finds the connection marked dead by the one before
// and sends nothing (tests/integration/client_disconnect.sh; docs/design-notes.md).
// Answers given while the client was still there are nbdkit's own: if the client
// stopped reading with more replies queued than its socket holds, one blocked in a send
// can still fail under the others, and only a fixed nbdkit (>= 1.33.10) helps then.
class Conn {
 public:
  explicit Conn(Export* e) : export_(e) {}
  Export& served() { return *export_; }

  // Returns r, once it is safe for nbdkit to send the answer.
  int Answer(int r) {
    // nbdkit_nanosleep ends at once, failing, when the connection is closing (the
    // client hung up, or another worker found the connection dead) or the server is
    // shutting down; with a zero sleep it is a poll of those and nothing more.
    // (The answer's error, if any, was given with nbdkit_set_error, which this keeps.)
    if (nbdkit_nanosleep(0, 0) == 0) return r;
    std::lock_guard<std::mutex> one(gone_mu_);
    const auto now = std::chrono::steady_clock::now();
    if (now < next_gone_answer_) std::this_thread::sleep_until(next_gone_answer_);
    next_gone_answer_ = std::max(now, next_gone_answer_) + kGoneReplyGap;
    return r;
  }

 private:
  static constexpr std::chrono::milliseconds kGoneReplyGap{50};
  Export* const export_;
  std::mutex gone_mu_;
  std::chrono::steady_clock::time_point next_gone_answer_{};
};

void* OpenConnection(int /*readonly*/) { return new Conn(g_export); }
void CloseConnection(void* h) { delete static_cast<Conn*>(h); }
Export& Live(void* h) { return static_cast<Conn*>(h)->served(); }
int Answer(void* h, int r) { return static_cast<Conn*>(h)->Answer(r); }

int64_t GetSize(void* h) { return static_cast<int64_t>(Live(h).size()); }
// can_write, can_flush, can_trim, can_zero, can_multi_conn, can_extents: always.
int Supported(void*) { return 1; }
int CanFua(void*) { return NBDKIT_FUA_NATIVE; }
int CanCache(void*) { return NBDKIT_CACHE_NATIVE; }

int Pread(void* h, void* buf, uint32_t count, uint64_t offset, uint32_t) {
  Status s = Live(h).Read(offset, {static_cast<std::byte*>(buf), count});
  return Answer(h, s.ok() ? 0 : Fail(s));
}

int Pwrite(void* h, const void* buf, uint32_t count, uint64_t offset, uint32_t flags) {
  Status s = Live(h).Write(offset, {static_cast<const std::byte*>(buf), count}, flags & NBDKIT_FLAG_FUA);
  return Answer(h, s.ok() ? 0 : Fail(s));
}

int FlushReq(void* h, uint32_t) {
  Status s = Live(h).Flush();
  return Answer(h, s.ok() ? 0 : Fail(s));
}

int TrimReq(void* h, uint32_t count, uint64_t offset, uint32_t flags) {
  Status s = Live(h).Trim(offset, count, flags & NBDKIT_FLAG_FUA);
  return Answer(h, s.ok() ? 0 : Fail(s));
}

int ZeroReq(void* h, uint32_t count, uint64_t offset, uint32_t flags) {
  if (flags & NBDKIT_FLAG_FAST_ZERO) {  // a zero may copy granule ends: not fast
    nbdkit_set_error(ENOTSUP);
    return Answer(h, -1);
  }
  Status s = Live(h).Zero(offset, count, flags & NBDKIT_FLAG_FUA);
  return Answer(h, s.ok() ? 0 : Fail(s));
}

int ExtentsReq(void* h, uint32_t count, uint64_t offset, uint32_t, struct nbdkit_extents* extents) {
  std::vector<Extent> out;
  Status s = Live(h).Extents(offset, count, &out);
  if (!s.ok()) return Answer(h, Fail(s));
  for (const Extent& e : out) {
    const uint32_t type = e.zero ? (NBDKIT_EXTENT_HOLE | NBDKIT_EXTENT_ZERO) : 0;
    if (nbdkit_add_extent(extents, e.offset, e.length, type) == -1) return Answer(h, -1);
  }
  return Answer(h, 0);
}

int CacheReq(void* h, uint32_t count, uint64_t offset, uint32_t) {
  Live(h).Cache(offset, count);
  return Answer(h, 0);
}

int OnConfig(const char* key, const char* value) { return ExitIfSanitized(ConfigKey(key, value)); }

// The callbacks' names, for Guard's messages and FERRY_FAULT_THROW.
constexpr char kConfig[] = "config", kConfigComplete[] = "config_complete", kLoad[] = "load", kUnload[] = "unload",
               kGetReady[] = "get_ready", kAfterFork[] = "after_fork", kCleanup[] = "cleanup", kOpen[] = "open", kClose[] = "close",
               kGetSize[] = "get_size", kPread[] = "pread", kPwrite[] = "pwrite", kFlush[] = "flush", kTrim[] = "trim",
               kZero[] = "zero", kExtents[] = "extents", kCache[] = "cache";

nbdkit_plugin MakePlugin() {
  nbdkit_plugin p{};
  p.name = "ferry";
  p.longname = "ferry live migration";
  p.version = FERRY_VERSION;
  p.description = "exports a volume while ferry migrates it from source to dest";
  p.config = Guard<kConfig, OnConfig>::Call;
  p.config_complete = Guard<kConfigComplete, ConfigComplete>::Call;
  p.config_help =
      "source=SRC          (required) the volume to migrate: a path or an NBD URI, only read\n"
      "dest=DST            (required) where it goes: a path (created at the source's size) or an NBD URI\n"
      "journal=FILE        (required) progress, for resume after a crash\n"
      "policy=NAME         adaptive (default), heat, dmclone or qemu-stream\n"
      "predictor=NAME      none (default), stride, markov, lstm or ensemble\n"
      "model=FILE          a model saved by 'ferry train' (predictor lstm or ensemble)\n"
      "rate=SIZE           background read rate from the source per second (default: unlimited)\n"
      "granule=SIZE        tracking unit (default 64K); min-chunk=SIZE, max-chunk=SIZE\n"
      "threads=N           copy workers (default: one per core, 2 to 16)\n"
      "requests=N          copy requests in flight at most (default 64)\n"
      "latency-target=DUR  queueing a read to the source may see behind copies (default: base latency / 4)\n"
      "source-timeout=DUR  an NBD source that is lost is reconnected; reads wait this long (default 30s)\n"
      "min-rate=SIZE       copy bytes/s that go on while the application waits (default: delivery rate / 10)\n"
      "exit-when-done=BOOL shut nbdkit down once every granule is on the destination\n"
      "report=FILE.html    write an HTML report of the run when nbdkit stops\n"
      "metrics=FILE        write the live figures in Prometheus text format every second\n"
      "history=TRACE       a recorded trace of the workload (repeatable): heat map and predictor start warm;\n"
      "                    history-format=FMT, history-dev=N, history-strict=BOOL, history-time-scale=X\n"
      "record=FILE         write every request served as a trace (fio iolog v3); FILE must not exist\n"
      "verify=BOOL         once complete, compare with the source what the application did not write\n"
      "release-source=BOOL after an equal verify, discard the source's blocks (needs verify=true)\n"
      "watch=BOOL          serve the source itself, copying nothing (ferry watch): source= with record=,\n"
      "                    status=FILE (JSON every second), report=FILE.html (a heat report) and granule=";
  p.magic_config_key = nullptr;
  p.load = Guard<kLoad, Load>::Call;
  p.unload = Guard<kUnload, Unload>::Call;
  p.get_ready = Guard<kGetReady, GetReady>::Call;
  p.after_fork = Guard<kAfterFork, AfterFork>::Call;
  p.cleanup = Guard<kCleanup, Cleanup>::Call;
  p.open = Guard<kOpen, OpenConnection>::Call;
  p.close = Guard<kClose, CloseConnection>::Call;
  p.get_size = Guard<kGetSize, GetSize>::Call;
  p.can_write = Supported;
  p.can_flush = Supported;
  p.can_trim = Supported;
  p.can_zero = Supported;
  p.can_fua = CanFua;
  p.can_multi_conn = Supported;
  p.can_extents = Supported;
  p.can_cache = CanCache;
  p.pread = Guard<kPread, Pread>::Call;
  p.pwrite = Guard<kPwrite, Pwrite>::Call;
  p.flush = Guard<kFlush, FlushReq>::Call;
  p.trim = Guard<kTrim, TrimReq>::Call;
  p.zero = Guard<kZero, ZeroReq>::Call;
  p.extents = Guard<kExtents, ExtentsReq>::Call;
  p.cache = Guard<kCache, CacheReq>::Call;
  p.errno_is_preserved = 0;
  return p;
}

nbdkit_plugin plugin = MakePlugin();

}  // namespace
}  // namespace ferry

using ferry::plugin;
NBDKIT_REGISTER_PLUGIN(plugin)
