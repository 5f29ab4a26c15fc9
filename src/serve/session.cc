// ServeSession: a live migration or a watched source, served (serve/session.h).
#include "serve/session.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <thread>
#include <tuple>

#include <fmt/format.h>

#include "engine/control.h"
#include "engine/live_status.h"
#include "engine/metrics.h"
#include "ferry/live.h"
#include "ferry/policy.h"
#include "ferry/units.h"
#include "ferry/watch.h"
#include "heat/profile.h"
#include "predict/predictor.h"
#include "report/heat_report.h"
#include "report/html.h"
#include "report/live_report.h"
#include "trace/recorder.h"

namespace ferry {
namespace {

Status BadValue(std::string_view key, std::string_view value, std::string_view what) {
  return InvalidArgument(fmt::format("{}={}: {}", key, value, what));
}

// The values nbdkit_parse_bool takes.
Result<bool> ParseBool(std::string_view key, std::string_view value) {
  for (std::string_view yes : {"1", "true", "yes", "on"}) {
    if (value == yes) return true;
  }
  for (std::string_view no : {"0", "false", "no", "off"}) {
    if (value == no) return false;
  }
  return BadValue(key, value, "give true or false");
}

Status ParseInt(std::string_view key, std::string_view value, int* out) {
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), *out);
  if (ec != std::errc() || end != value.data() + value.size()) return BadValue(key, value, "give a whole number");
  return OkStatus();
}

Status ParseSizeInto(std::string_view key, std::string_view value, uint64_t* out) {
  auto v = ParseSize(value, key);
  if (!v.ok()) return v.status();
  *out = *v;
  return OkStatus();
}

template <typename D>
Status ParseDurationInto(std::string_view key, std::string_view value, D* out) {
  auto d = ParseDuration(value, key);
  if (!d.ok()) return d.status();
  *out = std::chrono::duration_cast<D>(*d);
  return OkStatus();
}

Status SetHistoryParam(HistoryOptions* h, std::string_view key, std::string_view value) {
  if (key == "history-format") {
    auto f = ParseTraceFormat(std::string(value));
    if (!f.ok()) return f.status().WithContext("history-format");
    h->format = *f;
  } else if (key == "history-dev") {
    int dev = -1;
    FERRY_RETURN_IF_ERROR(ParseInt(key, value, &dev));
    if (dev < 0) return BadValue(key, value, "give a device number of 0 or more");
    h->device = static_cast<uint32_t>(dev);
  } else if (key == "history-strict") {
    auto b = ParseBool(key, value);
    if (!b.ok()) return b.status();
    h->read.strict = *b;
  } else {  // history-time-scale
    char* end = nullptr;
    const std::string v(value);
    h->time_scale = std::strtod(v.c_str(), &end);
    if (!end || *end || !(h->time_scale > 0)) return BadValue(key, value, "give a positive number, e.g. 0.5");
  }
  return OkStatus();
}

// The predictor the parameters name (CheckServeConfig resolved it).
PredictorConfig PredictorConfigOf(const ServeConfig& c) {
  PredictorConfig pc;
  pc.model = c.model;
  pc.granule_size = c.granule;
  pc.background_training = true;
  return pc;
}

Status CheckCreatable(const std::string& record) {
  return record.empty() ? OkStatus() : TraceRecorder::CheckCreatable(record);
}

// Output files: found out now, not when the run ends.
Status CheckOutputs(const ServeConfig& c) {
  FERRY_RETURN_IF_ERROR(CheckCreatable(c.record));
  for (const auto& [key, path, what] : {std::tuple{"report", c.report, "a report"}, {"metrics", c.metrics, "a metrics"},
                                        {"status", c.status, "a status"}}) {
    if (path.empty()) continue;
    const std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/') + 1);
    if (::access(dir.c_str(), W_OK) != 0) {
      return InvalidArgument(fmt::format("{}={}: cannot write in {} ({}): give {} path in a writable directory", key,
                                         path, dir, std::strerror(errno), what));
    }
  }
  return OkStatus();
}

Status CheckWatchConfig(const ServeConfig& c) {
  if (c.source.empty()) return InvalidArgument("source= is required: nbdkit ferry watch=true source=SRC");
  if (!c.dest.empty() || !c.journal.empty() || !c.history.empty() || c.verify) {
    return InvalidArgument("watch=true serves the source itself: no dest=, journal=, history= or verify=");
  }
  return CheckOutputs(c);
}

}  // namespace

Status SetServeParam(ServeConfig* config, std::string_view key, std::string_view value) {
  ServeConfig& c = *config;
  const std::pair<std::string_view, std::string*> strings[] = {
      {"source", &c.source}, {"dest", &c.dest},     {"destination", &c.dest}, {"journal", &c.journal},
      {"policy", &c.policy}, {"predictor", &c.predictor}, {"model", &c.model}, {"report", &c.report},
      {"metrics", &c.metrics}, {"record", &c.record}, {"status", &c.status}};
  for (const auto& [k, field] : strings) {
    if (key == k) {
      *field = value;
      return OkStatus();
    }
  }
  const std::pair<std::string_view, uint64_t*> sizes[] = {{"granule", &c.granule},     {"min-chunk", &c.min_chunk},
                                                          {"max-chunk", &c.max_chunk}, {"rate", &c.rate},
                                                          {"min-rate", &c.min_rate}};
  for (const auto& [k, field] : sizes) {
    if (key == k) return ParseSizeInto(key, value, field);
  }
  const std::pair<std::string_view, bool*> bools[] = {{"verify", &c.verify},
                                                      {"release-source", &c.release_source},
                                                      {"exit-when-done", &c.exit_when_done},
                                                      {"watch", &c.watch}};
  for (const auto& [k, field] : bools) {
    if (key != k) continue;
    auto b = ParseBool(key, value);
    if (!b.ok()) return b.status();
    *field = *b;
    return OkStatus();
  }
  if (key == "history") {
    c.history.emplace_back(value);
  } else if (key == "history-format" || key == "history-dev" || key == "history-strict" ||
             key == "history-time-scale") {
    return SetHistoryParam(&c.history_options, key, value);
  } else if (key == "latency-target") {
    return ParseDurationInto(key, value, &c.latency_target);
  } else if (key == "source-timeout") {
    return ParseDurationInto(key, value, &c.source_timeout);
  } else if (key == "threads") {
    return ParseInt(key, value, &c.threads);
  } else if (key == "requests") {
    return ParseInt(key, value, &c.requests);
  } else {
    return InvalidArgument(fmt::format("unknown parameter '{}': see 'nbdkit ferry --help'", key));
  }
  return OkStatus();
}

const char kServeParamsHelp[] =
    "source=SRC          (required) the volume to migrate: a path or an NBD URI, only read\n"
    "dest=DST            (required) where it goes: a path (created at the source's size) or an NBD URI\n"
    "journal=FILE        (required) progress, for resume after a crash\n"
    "policy=NAME         adaptive (default), heat, dmclone or qemu-stream\n"
    "predictor=NAME      stride+markov (default with policy adaptive or heat), stride, markov, lstm,\n"
    "                    ensemble (all three), members joined by +, or none\n"
    "model=FILE          a model saved by 'ferry train' (a predictor with the LSTM)\n"
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

Status CheckServeConfig(ServeConfig* config) {
  ServeConfig& c = *config;
  if (c.watch) return CheckWatchConfig(c);
  if (c.source.empty() || c.dest.empty() || c.journal.empty()) {
    return InvalidArgument("source=, dest= and journal= are required: nbdkit ferry source=SRC dest=DST journal=FILE");
  }
  if (c.release_source && !c.verify) {
    return InvalidArgument("release-source=true needs verify=true: the source is released only after a successful verify");
  }
  MigrateOptions& o = c.options;
  o.granule_size = c.granule;
  SetChunkRange(&o, c.min_chunk, c.max_chunk);
  o.threads = c.threads;
  o.max_in_flight = c.requests;
  o.rate_limit = c.rate;
  o.min_rate = c.min_rate;
  o.latency_target = c.latency_target;
  o.source_timeout = c.source_timeout;
  FERRY_RETURN_IF_ERROR(ValidateMigrateOptions(o));
  auto choice = ChoosePolicy(c.policy, c.predictor, c.model, PolicyUse::kServe, !c.history.empty());
  if (!choice.ok()) return choice.status();
  o.policy = choice->policy;
  c.predictor = choice->predictor;
  return CheckOutputs(c);
}

// What runs between Start and Stop.
struct ServeSession::Running {
  std::unique_ptr<TraceRecorder> record;
  std::unique_ptr<LiveMigration> live;
  std::unique_ptr<WatchedSource> watch;
  std::unique_ptr<StatusWriter> status;
  std::unique_ptr<ControlServer> control;
  // verify=true: the verify (and release) once complete runs on this thread, started by
  // the completion callback unless Stop has begun (all under conclude_mu). A migration
  // may complete inside LiveMigration::Start (a small volume, a finished journal),
  // before `live` is set: then Start starts it, once `live` is (complete_early).
  std::mutex conclude_mu;
  std::thread conclude;
  bool stopping = false;
  bool complete_early = false;
  std::atomic<bool> conclude_cancel{false};
};

ServeSession::ServeSession(const ServeConfig& config, ServeHooks hooks)
    : config_(config), hooks_(std::move(hooks)), run_(std::make_unique<Running>()) {}

ServeSession::~ServeSession() { Stop(); }

void ServeSession::Error(const std::string& message) const {
  if (hooks_.error) hooks_.error(message);
}
void ServeSession::Note(const std::string& message) const {
  if (hooks_.note) hooks_.note(message);
}

Result<std::unique_ptr<ServeSession>> ServeSession::Prepare(const ServeConfig& config, ServeHooks hooks) {
  std::unique_ptr<ServeSession> s(new ServeSession(config, std::move(hooks)));
  const ServeConfig& c = s->config_;
  if (c.watch) {
    OpenOptions o;
    o.writable = true;
    auto src = OpenVolume(c.source, o);
    if (!src.ok()) return src.status().WithContext("source");
    return s;
  }
  if (!c.history.empty()) {
    HistoryOptions ho = c.history_options;
    ho.read.on_warning = [sp = s.get()](const std::string& w) {
      if (sp->hooks_.debug) sp->hooks_.debug("history: skipping " + w);
    };
    ho.on_device_chosen = [sp = s.get()](const std::string& path, const LoadedTrace& t) {
      sp->Note(BusiestDeviceNote(path, t, "--history-dev"));
    };
    auto h = LoadHistory(c.history, ho);
    if (!h.ok()) return h.status().WithContext("--history");
    s->history_ = std::move(h).value();
  }
  // Located, not made: Start makes it on the predictor's thread, off the start path.
  FERRY_RETURN_IF_ERROR(CheckPredictor(c.predictor, PredictorConfigOf(c)));
  auto opened = OpenMigration(c.source, c.dest, c.journal, c.granule, c.options.source_timeout, /*bulk_copy=*/false);
  if (!opened.ok()) return opened.status();
  if (opened->journal->state() >= JournalState::kReleased) {
    return FailedPrecondition(fmt::format(
        "the migration recorded in {} released its source: serve the destination {} itself", c.journal, c.dest));
  }
  return s;
}

Status ServeSession::StartWatch() {
  const ServeConfig& c = config_;
  OpenOptions o;
  o.writable = true;
  auto src = OpenVolume(c.source, o);
  if (!src.ok()) return src.status().WithContext("source");
  WatchOptions wo;
  wo.record = c.record;
  wo.status = c.status;
  wo.granule_size = c.granule;
  auto w = WatchedSource::Start(std::move(src).value(), wo);
  if (!w.ok()) return w.status();
  run_->watch = std::move(w).value();
  export_ = run_->watch.get();
  return OkStatus();
}

Status ServeSession::Start() {
  const ServeConfig& c = config_;
  if (c.watch) return StartWatch();
  auto opened = OpenMigration(c.source, c.dest, c.journal, c.granule, c.options.source_timeout, /*bulk_copy=*/false);
  if (!opened.ok()) return opened.status();
  std::function<void()> on_complete;
  if (c.verify) {
    on_complete = [this] {
      std::lock_guard<std::mutex> lock(run_->conclude_mu);
      if (run_->stopping) return;
      if (!run_->live) {
        run_->complete_early = true;
        return;
      }
      run_->conclude = std::thread([this] { Conclude(); });
    };
  } else if (c.exit_when_done) {
    on_complete = hooks_.shutdown;
  }
  MigrateOptions o = c.options;
  if (!history_.empty()) o.history = &history_;
  if (c.predictor != "none") {
    o.make_predictor = [name = c.predictor, pc = PredictorConfigOf(c)](const std::atomic<bool>* cancel) mutable {
      pc.cancel = cancel;
      return MakePredictor(name, pc);
    };
  }
  if (!c.record.empty()) {
    auto r = TraceRecorder::Create(c.record, c.source);
    if (!r.ok()) return r.status();
    run_->record = std::move(r).value();
    o.on_request = [rec = run_->record.get()](IoOp op, uint64_t offset, uint64_t length) {
      rec->Record(op, offset, length);
    };
  }
  auto live = LiveMigration::Start(std::move(opened->source), std::move(opened->destination),
                                   std::move(opened->journal), nullptr, o,
                                   on_complete);
  history_ = {};  // learnt
  if (!live.ok()) return live.status();
  {
    std::lock_guard<std::mutex> lock(run_->conclude_mu);
    run_->live = std::move(live).value();
    if (run_->complete_early && !run_->stopping) run_->conclude = std::thread([this] { Conclude(); });
  }
  LiveMigration& m = *run_->live;
  export_ = &m;
  run_->status = std::make_unique<StatusWriter>(LiveStatusPath(c.journal), m, c.predictor, c.policy, c.metrics, c.journal);
  auto control = ControlServer::Start(
      ControlSocketPath(c.journal), m, hooks_.stop_process ? hooks_.stop_process : [] {},
      [this] { return LiveStatusJson(run_->live->stats(), config_.predictor, config_.policy, true).dump(); });
  if (!control.ok()) return control.status();
  run_->control = std::move(control).value();
  return OkStatus();
}

// verify=true, once every granule is present: the destination is compared with the
// source, skipping what the application wrote; with release-source=true, the source's
// blocks are discarded after an equal verify, and never otherwise. The outcome goes to
// the status (conclusion) and the summary; exit-when-done stops the server after it.
void ServeSession::Conclude() {
  const ServeConfig& c = config_;
  LiveMigration& live = *run_->live;
  live.SetConclusion("verifying the destination against the source");
  OpenOptions ro;
  ro.reconnect_timeout = c.options.source_timeout;
  auto src = OpenVolume(c.source, ro);
  std::unique_ptr<Volume> view = live.View();
  ConcludeOptions co;
  co.verify.threads = 4;
  co.verify.cancel = &run_->conclude_cancel;
  co.verify.written = [&live](uint64_t offset, uint64_t length) { return live.Written(offset, length); };
  co.release = c.release_source;
  co.source_spec = c.source;
  co.source_open = ro;
  co.record = [&live](JournalState st) { return live.RecordState(st); };
  if (const std::string why = live.WrittenUnknown(); !why.empty()) {
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
  live.SetConclusion(what);
  if (!r.ok() || !r->verify.equal) Error(what);
  if (c.exit_when_done && !run_->conclude_cancel && hooks_.shutdown) hooks_.shutdown();
}

// The end of a watch: the last status, the recording closed, the summary and report.
void ServeSession::StopWatch() {
  const ServeConfig& c = config_;
  WatchedSource& w = *run_->watch;
  if (Status s = w.Stop(); !s.ok()) Error(s.message());
  const WatchStats st = w.stats();
  Note(WatchSummary(st, c.record));
  if (!c.report.empty()) {
    HeatProfileOptions o;
    o.heat.granule_size = c.granule;
    o.volume_size = st.volume_size;
    const std::string what = fmt::format("The workload on {}, watched by ferry watch: {} requests over {:.1f} s{}",
                                         report::Escape(c.source), st.reads + st.writes, st.seconds,
                                         st.events_dropped ? fmt::format(" (the last {} not shown)", st.events_dropped) : "");
    const std::string html =
        report::HeatReport("ferry watch: " + c.source, what, BuildHeatProfile(w.events(), o), o);
    if (Status s = report::WriteFile(c.report, html); s.ok()) {
      Note("ferry: report " + c.report);
    } else {
      Error("the report: " + s.message());
    }
  }
  run_->watch.reset();
}

void ServeSession::Stop() {
  export_ = nullptr;
  if (run_->watch) StopWatch();
  if (!run_->live) return;
  const ServeConfig& c = config_;
  std::thread conclude;
  {
    std::lock_guard<std::mutex> lock(run_->conclude_mu);
    run_->stopping = true;
    run_->conclude_cancel = true;
    conclude = std::move(run_->conclude);
  }
  if (conclude.joinable()) conclude.join();
  run_->control.reset();
  run_->status.reset();  // stops its thread
  Status s = run_->live->Stop();
  const LiveStats st = run_->live->stats();
  (void)WriteLiveStatus(LiveStatusPath(c.journal), st, c.predictor, c.policy, /*running=*/false);
  if (!c.metrics.empty()) {
    if (Status w = WriteMetrics(c.metrics, st, c.journal); !w.ok()) Error(w.message());
  }
  if (!s.ok()) Error(s.message());
  Note(LiveSummary(st, c.journal));
  if (run_->record) {
    if (Status r = run_->record->Close(); r.ok()) {
      Note(fmt::format("ferry: recorded {} requests in {} (fio iolog v3; a later migration reads it with --history)",
                       run_->record->records(), c.record));
    } else {
      Error(r.message());
    }
  }
  if (!c.report.empty()) {
    const report::LiveRunInfo info{c.source, c.dest, c.journal, c.policy, c.predictor};
    if (Status w = report::WriteFile(c.report, report::LiveReport(info, st, run_->live->history())); w.ok()) {
      Note("ferry: report " + c.report);
    } else {
      Error("the report: " + w.message());
    }
  }
  run_->live.reset();
}

}  // namespace ferry
