// Connection (see nbd_connection.h).
#include "volume/nbd_connection.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace ferry::nbd {
namespace {

// The poll events libnbd's socket waits for now, and telling libnbd what poll saw
// (0, or -1 when the connection failed).
short WantedEvents(nbd_handle* h) {
  const unsigned dir = nbd_aio_get_direction(h);
  return static_cast<short>(((dir & LIBNBD_AIO_DIRECTION_READ) ? POLLIN : 0) |
                            ((dir & LIBNBD_AIO_DIRECTION_WRITE) ? POLLOUT : 0));
}
int Notify(nbd_handle* h, short revents) {
  if (revents & (POLLIN | POLLHUP | POLLERR)) return nbd_aio_notify_read(h);
  return (revents & POLLOUT) ? nbd_aio_notify_write(h) : 0;
}

}  // namespace

std::string NbdError(const std::string& what) {
  const char* e = nbd_get_error();
  return what + ": " + (e ? e : "unknown libnbd error");
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& uri, Clock::time_point deadline,
                                                     std::chrono::milliseconds stall) {
  nbd_handle* h = nbd_create();
  if (!h) return Internal(NbdError("nbd_create"));
  auto conn = std::unique_ptr<Connection>(new Connection(h, stall));
  nbd_set_handle_name(h, "ferry");
  // The operator names the URI, so its tls-psk-file= and tls-certificates= files are
  // theirs to name too (as nbdinfo and nbdcopy allow).
  nbd_set_uri_allow_local_file(h, true);
  // libnbd zeroes every read buffer before the read by default (a guard for callers
  // that use a buffer whose read failed; CVE-2022-0485). No caller here does: a failed
  // read's buffer is never used. nbdcopy turns it off too; it cost 4% of an NBD copy.
  nbd_set_pread_initialize(h, false);
  if (nbd_add_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION) == -1) {
    return Internal(NbdError("nbd_add_meta_context"));
  }
  // Refused while connecting or in the handshake (a TLS-only server refuses a plain
  // client with ENOTSUP there).
  auto refused = [&uri] {
    const bool tls = nbd_get_errno() == ENOTSUP;
    return Status(tls ? StatusCode::kPermissionDenied : StatusCode::kNotFound,
                  NbdError("cannot connect to NBD server " + uri) +
                      (tls ? " (the server requires TLS: use nbds:// with tls-psk-file= or tls-certificates=)"
                           : " (is the server running and the export name right?)"));
  };
  // The asynchronous connect, driven here until ready, so that it can time out.
  if (nbd_aio_connect_uri(h, uri.c_str()) == -1) {
    const int err = nbd_get_errno();
    // A URI that cannot be used leaves the handle unconnected; a server that refuses
    // in the handshake (which may run inside this call when its replies are already
    // there) leaves it dead.
    if (nbd_aio_is_created(h) && (err == EINVAL || err == ENOTSUP || err == EPROTONOSUPPORT)) {
      return InvalidArgument(NbdError("invalid NBD URI '" + uri + "'") +
                             " (expected e.g. nbd://host:10809/export or nbd+unix:///export?socket=/path)");
    }
    return refused();
  }
  while (nbd_aio_is_connecting(h)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return Unavailable("cannot connect to NBD server " + uri + ": no handshake within the time allowed");
    }
    struct pollfd fd = {nbd_aio_get_fd(h), WantedEvents(h), 0};
    if (fd.fd < 0) return refused();
    const int n = ::poll(&fd, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) return Internal("nbd connection: poll failed");
    if (Notify(h, fd.revents) == -1) return refused();
  }
  if (!nbd_aio_is_ready(h)) return refused();
  conn->fd_ = nbd_aio_get_fd(h);
  conn->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (conn->fd_ < 0 || conn->wake_fd_ < 0) return Internal("nbd connection: cannot set up polling");
  conn->poller_ = std::thread([c = conn.get()] { c->Poll(); });
  return conn;
}

void Connection::StopPolling() {
  if (poller_.joinable()) {
    stop_.store(true);
    Wake();
    poller_.join();
  }
}

void Connection::Disconnect() {
  StopPolling();
  // Sent at once (libnbd issues a command as it is queued); the destructor's shutdown
  // waits for the close without asking again.
  if (!lost()) nbd_aio_disconnect(h_, 0);
}

Connection::~Connection() {
  StopPolling();
  if (wake_fd_ >= 0) ::close(wake_fd_);
  // The poller is gone, so the synchronous shutdown is safe: it waits for the server
  // to acknowledge (and so flush) before the socket closes.
  if (!lost()) nbd_shutdown(h_, 0);
  nbd_close(h_);
}

void Connection::Poll() {
  // A stall: commands owed replies and not a byte came for stall_ (a server that
  // hangs with its connection open). The socket is shut down, so libnbd retires every
  // command with an error and the connection is lost(), to be made again.
  int64_t owed_before = 0;
  auto heard = Clock::now();
  while (!stop_.load()) {
    struct pollfd fds[2] = {{fd_, WantedEvents(h_), 0}, {wake_fd_, POLLIN, 0}};
    const int64_t owed = stall_.count() > 0 ? nbd_aio_in_flight(h_) : 0;
    if (owed > 0 && owed_before == 0) heard = Clock::now();  // the wait starts now
    owed_before = owed;
    if (::poll(fds, 2, owed > 0 ? 100 : -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      heard = Clock::now();
    } else if (owed > 0 && Clock::now() - heard > stall_) {
      ::shutdown(fd_, SHUT_RDWR);  // the next poll sees the end; libnbd retires all
      heard = Clock::now();
    }
    if (fds[1].revents & POLLIN) {
      uint64_t v;
      [[maybe_unused]] ssize_t n = ::read(wake_fd_, &v, sizeof v);
    }
    const int rc = Notify(h_, fds[0].revents);
    // A dead connection retires its commands with an error; nothing more to poll.
    if (rc == -1 || nbd_aio_is_dead(h_) || nbd_aio_is_closed(h_)) break;
  }
}

}  // namespace ferry::nbd
