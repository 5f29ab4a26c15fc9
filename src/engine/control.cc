// The control socket (see control.h).
#include "engine/control.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "ferry/units.h"

namespace ferry {
namespace {

Result<sockaddr_un> Address(const std::string& path) {
  sockaddr_un a{};
  if (path.size() >= sizeof a.sun_path) {
    return InvalidArgument("control socket path " + path + " is longer than " + std::to_string(sizeof a.sun_path - 1) +
                           " bytes: use a shorter journal path");
  }
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.c_str(), path.size());
  return a;
}

}  // namespace

std::string ControlSocketPath(const std::string& journal) { return journal + ".ctl"; }

Result<std::unique_ptr<ControlServer>> ControlServer::Start(const std::string& path, LiveMigration& live,
                                                            std::function<void()> on_abort,
                                                            std::function<std::string()> status_json) {
  auto addr = Address(path);
  if (!addr.ok()) return addr.status();
  std::unique_ptr<ControlServer> s(new ControlServer());
  s->path_ = path;
  s->live_ = &live;
  s->on_abort_ = std::move(on_abort);
  s->status_json_ = std::move(status_json);
  s->listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s->listen_fd_ < 0) return ErrnoStatus(errno, "control socket " + path);
  ::unlink(path.c_str());  // the journal's lock is ours: a socket there is stale
  if (::bind(s->listen_fd_, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0 ||
      ::listen(s->listen_fd_, 4) != 0) {
    return ErrnoStatus(errno, "cannot listen on the control socket " + path);
  }
  if (::pipe2(s->stop_pipe_, O_CLOEXEC) != 0) return ErrnoStatus(errno, "control socket " + path);
  s->thread_ = std::thread([p = s.get()] { p->Run(); });
  return s;
}

ControlServer::~ControlServer() {
  if (thread_.joinable()) {
    const char c = 'x';
    (void)!::write(stop_pipe_[1], &c, 1);
    thread_.join();
  }
  for (int fd : {listen_fd_, stop_pipe_[0], stop_pipe_[1]}) {
    if (fd >= 0) ::close(fd);
  }
  if (!path_.empty()) ::unlink(path_.c_str());
}

void ControlServer::Run() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    timeval tv{2, 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string line;
    char ch;
    while (line.size() < 256 && ::read(c, &ch, 1) == 1 && ch != '\n') line += ch;
    const std::string reply = Handle(line) + "\n";
    (void)!::write(c, reply.data(), reply.size());
    ::close(c);
  }
}

std::string ControlServer::Handle(const std::string& line) {
  std::istringstream in(line);
  std::string cmd, arg;
  in >> cmd >> arg;
  if (cmd == "pause") {
    live_->Pause(true);
    return "ok paused";
  }
  if (cmd == "resume") {
    live_->Pause(false);
    return "ok resumed";
  }
  if (cmd == "rate") {
    auto r = ParseSize(arg, "rate");
    if (!r.ok()) return "error " + r.status().message();
    live_->SetRate(*r);
    return *r ? "ok rate " + FormatSize(*r) + "/s" : std::string("ok rate unlimited");
  }
  if (cmd == "abort") {
    if (on_abort_) on_abort_();
    return "ok aborting";
  }
  if (cmd == "status") return "ok " + status_json_();
  return "error unknown command '" + cmd + "': use pause, resume, rate SIZE, abort or status";
}

Result<std::string> SendControl(const std::string& path, const std::string& command) {
  auto addr = Address(path);
  if (!addr.ok()) return addr.status();
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus(errno, "control socket " + path);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {
    const int e = errno;
    ::close(fd);
    return NotFound("no ferry serve is running for this journal (" + path + ": " + std::strerror(e) + ")");
  }
  const std::string msg = command + "\n";
  std::string reply;
  if (::write(fd, msg.data(), msg.size()) == static_cast<ssize_t>(msg.size())) {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) reply.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  while (!reply.empty() && reply.back() == '\n') reply.pop_back();
  if (reply.empty()) return IoError("the ferry serve at " + path + " did not answer");
  return reply;
}

Result<std::string> Control(const std::string& journal, const std::string& command, const std::string& arg) {
  std::string line = command;
  if (command == "rate") {
    if (arg.empty()) return InvalidArgument("rate needs a SIZE per second, e.g. 'ferry control J rate 50M' (0: unlimited)");
    FERRY_RETURN_IF_ERROR(ParseSize(arg, "rate").status());
    line += " " + arg;
  } else if (!arg.empty()) {
    return InvalidArgument(command + " takes no argument");
  }
  auto reply = SendControl(ControlSocketPath(journal), line);
  if (!reply.ok()) return reply.status();
  if (reply->rfind("ok", 0) != 0) return FailedPrecondition(reply->substr(reply->find(' ') + 1));
  return reply->size() > 3 ? reply->substr(3) : std::string("ok");
}

}  // namespace ferry
