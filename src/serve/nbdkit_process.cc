// Running nbdkit with ferry's plugin as a child process (serve/nbdkit_process.h).
#include "serve/nbdkit_process.h"

#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "common/self_path.h"
#include "ferry/volume.h"

namespace ferry {
namespace {

volatile sig_atomic_t g_child = 0;
volatile sig_atomic_t g_stopping = 0;

void ForwardSignal(int sig) {
  g_stopping = 1;
  if (g_child > 0) ::kill(g_child, sig);
}

// Starts nbdkit; its pid, or -1 with errno when it could not be run (exec's errno comes
// back through a close-on-exec pipe).
pid_t StartNbdkit(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& s : args) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return -1;
  const pid_t parent = ::getpid();
  std::cout.flush();
  std::cerr.flush();
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    ::close(pipefd[0]);
    // The server goes with ferry serve, even on kill -9.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    ::execvp(argv[0], argv.data());
    const int err = errno;
    (void)!::write(pipefd[1], &err, sizeof err);
    ::_exit(127);
  }
  ::close(pipefd[1]);
  int err = 0;
  ssize_t n;
  do n = ::read(pipefd[0], &err, sizeof err);
  while (n < 0 && errno == EINTR);
  ::close(pipefd[0]);
  if (n == sizeof err) {
    ::waitpid(pid, nullptr, 0);
    errno = err;
    return -1;
  }
  return pid;
}

bool IsCrash(int sig) { return sig == SIGABRT || sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE; }


// nbdkit's TLS arguments (--tls=require and the credentials). On TCP, TLS is required
// unless the operator says --insecure (DESIGN.md "Faults"): a plain NBD export on a
// network serves the volume to anyone who can reach the port.
Status AddTlsArgs(const NbdkitEndpoint& a, std::vector<std::string>* args) {
  if (!a.tls_certificates.empty() && !a.tls_psk.empty()) {
    return InvalidArgument("give --tls-certificates or --tls-psk, not both");
  }
  if (!a.tls_certificates.empty()) {
    if (!std::filesystem::is_directory(a.tls_certificates)) {
      return InvalidArgument("--tls-certificates " + a.tls_certificates +
                             ": not a directory: give the directory holding ca-cert.pem, server-cert.pem and "
                             "server-key.pem (see nbdkit-tls(1))");
    }
    args->insert(args->end(), {"--tls=require", "--tls-certificates", std::filesystem::absolute(a.tls_certificates).string()});
  } else if (!a.tls_psk.empty()) {
    if (::access(a.tls_psk.c_str(), R_OK) != 0) {
      return InvalidArgument("--tls-psk " + a.tls_psk + ": cannot read it (" + std::strerror(errno) +
                             "): give a PSK file made by psktool, e.g. psktool -u alice -p keys.psk");
    }
    args->insert(args->end(), {"--tls=require", "--tls-psk", std::filesystem::absolute(a.tls_psk).string()});
  } else if (!a.listen.empty() && !a.insecure) {
    return InvalidArgument("--listen serves on TCP: give --tls-certificates DIR or --tls-psk FILE so that clients "
                           "need credentials, or --insecure to serve plain NBD to anyone who can connect");
  }
  return OkStatus();
}

// Where clients connect: one of --socket, --listen (split into host and port) or --run.
Status SplitEndpoint(const NbdkitEndpoint& a, std::string* host, std::string* port) {
  if (!a.socket.empty() && !a.listen.empty()) return InvalidArgument("give --socket or --listen, not both");
  if (a.socket.empty() && a.listen.empty() && a.run.empty()) {
    return InvalidArgument(
        "where should clients connect? give --socket PATH, --listen HOST:PORT, or --run CMD (a private socket)");
  }
  if (a.listen.empty()) return OkStatus();
  const size_t colon = a.listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == a.listen.size() ||
      a.listen.find_first_not_of("0123456789", colon + 1) != std::string::npos) {
    return InvalidArgument("--listen '" + a.listen + "': give HOST:PORT, e.g. 127.0.0.1:10809");
  }
  *host = a.listen.substr(0, colon);
  *port = a.listen.substr(colon + 1);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') *host = host->substr(1, host->size() - 2);
  return OkStatus();
}

}  // namespace

std::string FindPlugin() {
  if (const char* env = std::getenv("FERRY_NBDKIT_PLUGIN"); env && *env) return env;
  for (const std::string& p : CompanionPaths(kPluginFile)) {
    if (std::filesystem::exists(p)) return p;
  }
  return "";
}

// A Unix socket left by a server that was killed is removed (nbdkit will not bind over
// it); one a live server listens on is an error.
Status ClearStaleSocket(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return OkStatus();
  if (!S_ISSOCK(st.st_mode)) return InvalidArgument("--socket " + path + " exists and is not a socket: give another path");
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return InvalidArgument("--socket " + path + ": the path is too long");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return OkStatus();
  const bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  if (live) return FailedPrecondition("--socket " + path + " is in use by a running server: stop it or give another path");
  ::unlink(path.c_str());
  return OkStatus();
}

// A sanitizer build of ferry (scripts/test) has a sanitized plugin, which only loads into
// nbdkit with the sanitizer's runtime first: preload the one this process runs with.
// The plugin puts LD_PRELOAD back as it was (FERRY_SAVED_LD_PRELOAD) when it loads, so
// that --run's command does not start with the runtime (/bin/sh crashes under it).
void PreloadSanitizerRuntime() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  std::string runtime;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* out) {
        const std::string name = info->dlpi_name ? info->dlpi_name : "";
        if (name.find("libasan.so") != std::string::npos || name.find("libtsan.so") != std::string::npos) {
          *static_cast<std::string*>(out) = name;
          return 1;
        }
        return 0;
      },
      &runtime);
  if (runtime.empty()) return;
  const char* old = std::getenv("LD_PRELOAD");
  ::setenv("FERRY_SAVED_LD_PRELOAD", old ? old : "", 1);
  ::setenv("LD_PRELOAD", (old && *old ? runtime + ":" + old : runtime).c_str(), 1);
#if defined(__SANITIZE_ADDRESS__)
  // nbdkit itself leaks a little at exit (280 bytes in nbdkit 1.32), which LeakSanitizer
  // would turn into exit 1; the engine's own leaks are checked by its unit tests.
  const char* asan = std::getenv("ASAN_OPTIONS");
  ::setenv("ASAN_OPTIONS", (std::string(asan && *asan ? asan : "") + (asan && *asan ? ":" : "") + "detect_leaks=0").c_str(), 1);
#endif
#endif
}

// Runs nbdkit until it ends; restarts it after a crash when `restart` (a socket served,
// no --run), at most 5 times a minute. Returns the exit status (128 + signal when killed).
Result<int> SuperviseNbdkit(std::vector<std::string> args, const SuperviseOptions& options) {
  const bool restart = options.restart;
  const std::string& unix_socket = options.unix_socket;
  auto note = [&options](const std::string& m) {
    if (options.note) options.note(m);
  };
  struct sigaction sa {};
  sa.sa_handler = ForwardSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
  std::deque<std::chrono::steady_clock::time_point> crashes;
  int restarts = 0;
  std::string record;  // the first --record FILE
  for (;;) {
    const pid_t pid = StartNbdkit(args);
    if (pid < 0) {
      return Status(StatusCode::kNotFound, std::string("cannot run nbdkit: ") + std::strerror(errno) +
                                               ": install it (scripts/setup installs nbdkit)");
    }
    g_child = pid;
    if (g_stopping) ::kill(pid, SIGTERM);  // a signal that came while it started
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    g_child = 0;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    const int sig = WTERMSIG(status);
    const auto now = std::chrono::steady_clock::now();
    while (!crashes.empty() && now - crashes.front() > std::chrono::minutes(1)) crashes.pop_front();
    crashes.push_back(now);
    if (!restart || g_stopping || !IsCrash(sig) || crashes.size() > 5) {
      if (IsCrash(sig)) {
        note(fmt::format("nbdkit died on signal {} ({}); rerun the same ferry serve to continue from the journal",
                         sig, ::strsignal(sig)));
      }
      return 128 + sig;
    }
    note(fmt::format("nbdkit died on signal {} ({}); restarting it, the migration continues from the journal", sig,
                     ::strsignal(sig)));
    if (!unix_socket.empty()) ::unlink(unix_socket.c_str());  // its server is gone
    // A recording is never overwritten: the restarted server records to FILE.N.
    ++restarts;
    for (std::string& arg : args) {
      if (arg.rfind("record=", 0) != 0) continue;
      if (record.empty()) record = arg.substr(7);
      arg = "record=" + record + "." + std::to_string(restarts);
      note("the recording goes on in " + arg.substr(7) + " (give them all to --history)");
    }
  }
}


std::string AbsolutePath(const std::string& spec) {
  if (spec.empty() || IsNbdUri(spec)) return spec;
  return std::filesystem::absolute(spec).lexically_normal().string();
}


Result<std::vector<std::string>> NbdkitCommand(const NbdkitEndpoint& a) {
  std::string host, port;
  FERRY_RETURN_IF_ERROR(SplitEndpoint(a, &host, &port));
  const std::string plugin = FindPlugin();
  if (plugin.empty()) {
    return NotFound(std::string("cannot find ") + kPluginFile +
                    " beside the ferry binary: build it with ferry, or set FERRY_NBDKIT_PLUGIN to its path");
  }
  std::vector<std::string> args = {"nbdkit", "--foreground"};
  if (a.verbose) args.push_back("--verbose");
  FERRY_RETURN_IF_ERROR(AddTlsArgs(a, &args));
  if (!a.socket.empty()) {
    FERRY_RETURN_IF_ERROR(ClearStaleSocket(AbsolutePath(a.socket)));
    args.insert(args.end(), {"--unix", AbsolutePath(a.socket)});
  } else if (!a.listen.empty()) {
    if (!host.empty()) args.insert(args.end(), {"--ipaddr", host});
    args.insert(args.end(), {"--port", port});
  } else {
    args.insert(args.end(), {"--unix", "-"});
  }
  if (!a.run.empty()) args.insert(args.end(), {"--run", a.run});
  args.push_back(plugin);
  return args;
}

}  // namespace ferry
