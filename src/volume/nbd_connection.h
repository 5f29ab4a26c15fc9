// Connection: one NBD connection driven through libnbd's asynchronous API by a poller
// thread of its own (see nbd_volume.cc for why), for NbdVolume alone. A caller submits
// a command with a completion callback and either waits for it (Run) or returns at once
// (Start); a connection that owes replies and hears nothing for `stall` is shut down.
#pragma once

#include <libnbd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ferry/status.h"

namespace ferry::nbd {

// `what` and libnbd's last error message.
std::string NbdError(const std::string& what);

// One in-flight command; the caller waits on it.
struct Pending {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int error = 0;

  static int OnComplete(void* user_data, int* error) {
    auto* p = static_cast<Pending*>(user_data);
    std::lock_guard<std::mutex> lock(p->mu);
    p->error = *error;
    p->done = true;
    p->cv.notify_all();
    return 1;  // retire the command
  }
  int Wait() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [this] { return done; });
    return error;
  }
  nbd_completion_callback Callback() { return {.callback = OnComplete, .user_data = this, .free = nullptr}; }
};

using Clock = std::chrono::steady_clock;

class Connection {
 public:
  // Connects within `deadline` (the handshake included: a server that accepts and then
  // says nothing is a failure, kUnavailable). `stall`: a connection that owes replies
  // and hears nothing for this long is shut down (zero: never).
  static Result<std::unique_ptr<Connection>> Open(const std::string& uri, Clock::time_point deadline,
                                                  std::chrono::milliseconds stall);

  // The connection is gone for good (the server closed it, it failed, or it was shut
  // down as hung): its commands were retired with an error, new ones are refused.
  bool lost() const { return nbd_aio_is_dead(h_) || nbd_aio_is_closed(h_); }

  // Ends the poller and asks the server to close the connection (NBD_CMD_DISC) without
  // waiting for it; the destructor then waits. A volume asks all its connections first,
  // so they close together rather than each waiting for the last (docs/design-notes.md,
  // "NBD: one poller thread per connection").
  void Disconnect();

  ~Connection();

  nbd_handle* handle() const { return h_; }

  // Submits a command with `submit(handle, callback)` (returns the cookie or -1) and
  // waits for its completion. Returns 0 or an errno value; on submission failure -1.
  template <typename Submit>
  int Run(Submit submit) {
    Pending p;
    if (Start(submit, p.Callback()) == -1) return -1;
    return p.Wait();
  }

  // Submits a command with `submit(handle, cb)` and returns at once: 0, or -1 when
  // libnbd refused it (then `cb` is never called).
  template <typename Submit>
  int Start(Submit submit, nbd_completion_callback cb) {
    if (submit(h_, cb) == -1) return -1;
    Wake();  // the poller re-reads the direction it waits for
    return 0;
  }

 private:
  Connection(nbd_handle* h, std::chrono::milliseconds stall) : h_(h), stall_(stall) {}

  void Wake() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
  }

  void Poll();  // the poller thread
  void StopPolling();

  nbd_handle* const h_;
  const std::chrono::milliseconds stall_;
  int fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

}  // namespace ferry::nbd
