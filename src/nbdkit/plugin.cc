// nbdkit-ferry-plugin: exports a volume while ferry migrates it (`ferry serve`, or
// `nbdkit ferry source=SRC dest=DST journal=J`; docs/cli.md "serve"). A thin adapter:
// nbdkit speaks NBD, ServeSession (serve/session.h) does the rest: parameters, set-up,
// status, the verify at the end, the summary and the report.
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
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "serve/session.h"

#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL

namespace ferry {
namespace {

ServeConfig g_config;
std::unique_ptr<ServeSession> g_session;

// Whether connections may use g_session's export: true from a successful after_fork
// until cleanup. nbdkit 1.32 can run a connection's callbacks after it has begun to shut
// down: its accept loop waits for a count of connection threads that each thread raises
// only once it runs, so a connection accepted just before the quit may open and
// negotiate while (or after) cleanup stops the session, and nbdkit calls no close once
// it quits. Every connection callback therefore holds g_session_mu shared for its
// duration (Served); cleanup takes it exclusively to end serving, so it stops the
// session only once no callback is inside it, and later ones are refused
// (tests/integration/serve_release.sh, case 4, met this under ASan).
std::shared_mutex g_session_mu;
bool g_serving = false;  // guarded by g_session_mu

// FERRY_FAULT_THROW=NAME: the callback NAME throws before it runs (fault injection, as
// nbdkit's error filter injects errors: the test that proves Guard). Read at load.
const char* g_throw_in = nullptr;

// What a callback returning R answers on failure (its error already set): -1, or null
// for open.
template <typename R>
R Failed() {
  if constexpr (std::is_void_v<R>) {
    return;
  } else if constexpr (std::is_pointer_v<R>) {
    return nullptr;
  } else {
    return -1;
  }
}

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
    return Failed<R>();
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

// A failure before serving: the message to nbdkit's log (and so the terminal).
int ConfigError(const Status& s) {
  nbdkit_error("%s", s.message().c_str());
  return ExitIfSanitized(-1);
}

int OnConfig(const char* key, const char* value) {
  Status s = SetServeParam(&g_config, key, value);
  return s.ok() ? 0 : ConfigError(s);
}

int ConfigComplete() {
  Status s = CheckServeConfig(&g_config);
  return s.ok() ? 0 : ConfigError(s);
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

ServeHooks Hooks() {
  ServeHooks h;
  h.shutdown = [] { nbdkit_shutdown(); };
  // The same clean stop as SIGTERM (nbdkit_shutdown from the control thread left an ASan
  // build deadlocked in exit handlers).
  h.stop_process = [] { ::kill(::getpid(), SIGTERM); };
  h.error = [](const std::string& m) { nbdkit_error("%s", m.c_str()); };
  h.note = [](const std::string& m) { fprintf(stderr, "%s\n", m.c_str()); };
  h.debug = [](const std::string& m) { nbdkit_debug("%s", m.c_str()); };
  return h;
}

// Before nbdkit serves (and forks): the history is read, everything opened once.
int GetReady() {
  auto s = ServeSession::Prepare(g_config, Hooks());
  if (!s.ok()) return ConfigError(s.status());
  g_session = std::move(s).value();
  return 0;
}

// Threads do not survive nbdkit's fork: the session starts in the child.
int AfterFork() {
  Status s = g_session->Start();
  if (!s.ok()) nbdkit_error("%s", s.message().c_str());
  std::lock_guard<std::shared_mutex> lock(g_session_mu);
  g_serving = s.ok();
  return s.ok() ? 0 : -1;
}

void Cleanup() {
  {
    std::lock_guard<std::shared_mutex> lock(g_session_mu);
    g_serving = false;
  }
  if (g_session) g_session->Stop();
  g_session.reset();
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

// Runs F with the session held open (g_serving), or fails with ESHUTDOWN once cleanup
// has begun.
template <auto F>
struct Served;
template <typename R, typename... A, R (*F)(A...)>
struct Served<F> {
  static R Call(A... args) {
    std::shared_lock<std::shared_mutex> lock(g_session_mu);
    if (g_serving) return F(args...);
    nbdkit_error("ferry is shutting down: the migration has stopped; rerun ferry serve with the same journal");
    nbdkit_set_error(ESHUTDOWN);
    return Failed<R>();
  }
};

void* OpenConnection(int /*readonly*/) { return new Conn(g_session->exported()); }
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
  p.config_help = kServeParamsHelp;
  p.magic_config_key = nullptr;
  p.load = Guard<kLoad, Load>::Call;
  p.unload = Guard<kUnload, Unload>::Call;
  p.get_ready = Guard<kGetReady, GetReady>::Call;
  p.after_fork = Guard<kAfterFork, AfterFork>::Call;
  p.cleanup = Guard<kCleanup, Cleanup>::Call;
  p.open = Guard<kOpen, Served<OpenConnection>::Call>::Call;
  p.close = Guard<kClose, CloseConnection>::Call;
  p.get_size = Guard<kGetSize, Served<GetSize>::Call>::Call;
  p.can_write = Supported;
  p.can_flush = Supported;
  p.can_trim = Supported;
  p.can_zero = Supported;
  p.can_fua = CanFua;
  p.can_multi_conn = Supported;
  p.can_extents = Supported;
  p.can_cache = CanCache;
  p.pread = Guard<kPread, Served<Pread>::Call>::Call;
  p.pwrite = Guard<kPwrite, Served<Pwrite>::Call>::Call;
  p.flush = Guard<kFlush, Served<FlushReq>::Call>::Call;
  p.trim = Guard<kTrim, Served<TrimReq>::Call>::Call;
  p.zero = Guard<kZero, Served<ZeroReq>::Call>::Call;
  p.extents = Guard<kExtents, Served<ExtentsReq>::Call>::Call;
  p.cache = Guard<kCache, Served<CacheReq>::Call>::Call;
  p.errno_is_preserved = 0;
  return p;
}

nbdkit_plugin plugin = MakePlugin();

}  // namespace
}  // namespace ferry

using ferry::plugin;
NBDKIT_REGISTER_PLUGIN(plugin)
