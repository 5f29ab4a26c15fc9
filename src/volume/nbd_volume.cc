// NbdVolume: an NBD export reached through libnbd.
//
// libnbd's synchronous calls hold the handle lock while they wait, so concurrent
// callers would run one at a time. Instead each connection runs libnbd's async API
// under one poller thread of ours (the pattern of nbdcopy's multi-thread-copying): a
// caller submits nbd_aio_* with a completion callback, wakes the poller through an
// eventfd so it re-reads the wanted direction, and sleeps until its command completes.
// So one connection carries many requests in flight, which is what servers without
// multi-conn (qemu-nbd's default) allow. With multi-conn, up to
// OpenOptions::nbd_connections connections share the load round-robin.
#include <libnbd.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "volume/backends.h"

namespace ferry {
namespace {

// NBD requests are limited in size by servers (32 MiB is what every server accepts;
// qemu-nbd and nbdkit advertise it as their maximum), so larger I/O is split.
constexpr uint64_t kMaxIoRequest = 32ull << 20;
constexpr uint64_t kMaxZeroRequest = 1ull << 30;  // zero/trim/block-status carry no data

std::string NbdError(const std::string& what) {
  const char* e = nbd_get_error();
  return what + ": " + (e ? e : "unknown libnbd error");
}

// Status for a failed libnbd call, classified by nbd_get_errno().
Status NbdStatus(const std::string& what) {
  int err = nbd_get_errno();
  Status s = ErrnoStatus(err ? err : EIO, "x");
  return Status(err ? s.code() : StatusCode::kIoError, NbdError(what));
}

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

class Connection {
 public:
  static Result<std::unique_ptr<Connection>> Open(const std::string& uri) {
    nbd_handle* h = nbd_create();
    if (!h) return Internal(NbdError("nbd_create"));
    auto conn = std::unique_ptr<Connection>(new Connection(h));
    nbd_set_handle_name(h, "ferry");
    if (nbd_add_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION) == -1) {
      return Internal(NbdError("nbd_add_meta_context"));
    }
    if (nbd_connect_uri(h, uri.c_str()) == -1) {
      int err = nbd_get_errno();
      if (err == EINVAL || err == ENOTSUP || err == EPROTONOSUPPORT) {
        return InvalidArgument(NbdError("invalid NBD URI '" + uri + "'") +
                               " (expected e.g. nbd://host:10809/export or nbd+unix:///export?socket=/path)");
      }
      return Status(StatusCode::kNotFound, NbdError("cannot connect to NBD server " + uri) +
                                               " (is the server running and the export name right?)");
    }
    conn->fd_ = nbd_aio_get_fd(h);
    conn->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (conn->fd_ < 0 || conn->wake_fd_ < 0) return Internal("nbd connection: cannot set up polling");
    conn->poller_ = std::thread([c = conn.get()] { c->Poll(); });
    return conn;
  }

  ~Connection() {
    if (poller_.joinable()) {
      stop_.store(true);
      Wake();
      poller_.join();
    }
    if (wake_fd_ >= 0) ::close(wake_fd_);
    // The poller is gone, so the synchronous shutdown is safe: it waits for the server
    // to acknowledge (and so flush) before the socket closes.
    if (!nbd_aio_is_dead(h_) && !nbd_aio_is_closed(h_)) nbd_shutdown(h_, 0);
    nbd_close(h_);
  }

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
  explicit Connection(nbd_handle* h) : h_(h) {}

  void Wake() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
  }

  void Poll() {
    while (!stop_.load()) {
      unsigned dir = nbd_aio_get_direction(h_);
      struct pollfd fds[2] = {{fd_, 0, 0}, {wake_fd_, POLLIN, 0}};
      if (dir & LIBNBD_AIO_DIRECTION_READ) fds[0].events |= POLLIN;
      if (dir & LIBNBD_AIO_DIRECTION_WRITE) fds[0].events |= POLLOUT;
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (fds[1].revents & POLLIN) {
        uint64_t v;
        [[maybe_unused]] ssize_t n = ::read(wake_fd_, &v, sizeof v);
      }
      int rc = 0;
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) rc = nbd_aio_notify_read(h_);
      else if (fds[0].revents & POLLOUT) rc = nbd_aio_notify_write(h_);
      // A dead connection retires its commands with an error; nothing more to poll.
      if (rc == -1 || nbd_aio_is_dead(h_) || nbd_aio_is_closed(h_)) break;
    }
  }

  nbd_handle* const h_;
  int fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

class NbdVolume final : public Volume {
 public:
  NbdVolume(std::string uri, std::vector<std::unique_ptr<Connection>> conns, uint64_t size,
            VolumeCapabilities caps)
      : uri_(std::move(uri)), conns_(std::move(conns)), size_(size), caps_(caps) {}

  const std::string& name() const override { return uri_; }
  uint64_t size() const override { return size_; }
  VolumeCapabilities capabilities() const override { return caps_; }

  Status Read(uint64_t offset, std::span<std::byte> buf) override {
    return Split("pread", offset, buf.size(), kMaxIoRequest, [&](Connection& c, uint64_t off, uint64_t len) {
      return c.Run([&](nbd_handle* h, nbd_completion_callback cb) {
        return nbd_aio_pread(h, buf.data() + (off - offset), len, off, cb, 0);
      });
    });
  }

  void ReadAsync(uint64_t offset, std::span<std::byte> buf, ReadDone done) override {
    // One read of up to kMaxIoRequest-sized pieces; `done` runs when the last completes.
    struct AsyncRead {
      struct Piece {
        AsyncRead* read;
        uint64_t offset, length;
        std::atomic<bool> finished{false};  // by its completion or by a refused submission
      };
      NbdVolume* volume;
      ReadDone done;
      std::vector<std::unique_ptr<Piece>> pieces;
      std::atomic<size_t> left;
      std::mutex mu;
      Status error;  // the first failure

      void Finish(Piece& p, Status s) {
        if (p.finished.exchange(true)) return;
        if (!s.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          if (error.ok()) error = std::move(s);
        }
        if (left.fetch_sub(1) == 1) {
          done(std::move(error));
          delete this;
        }
      }
      static int OnComplete(void* user_data, int* err) {
        auto* p = static_cast<Piece*>(user_data);
        p->read->Finish(*p, *err == 0 ? OkStatus() : p->read->volume->Failed("pread", p->offset, p->length, *err));
        return 1;  // retire the command
      }
    };
    if (buf.empty()) return done(OkStatus());
    auto* read = new AsyncRead{.volume = this, .done = std::move(done)};
    for (uint64_t at = 0; at < buf.size(); at += kMaxIoRequest) {
      const uint64_t n = std::min<uint64_t>(kMaxIoRequest, buf.size() - at);
      read->pieces.push_back(std::make_unique<AsyncRead::Piece>(read, offset + at, n));
    }
    read->left = read->pieces.size();
    // Pieces are only touched through `read` until the last finishes; copy the list
    // first, since that finish deletes `read`.
    std::vector<AsyncRead::Piece*> pieces;
    for (auto& p : read->pieces) pieces.push_back(p.get());
    for (AsyncRead::Piece* p : pieces) {
      std::byte* data = buf.data() + (p->offset - offset);
      const uint64_t len = p->length, off = p->offset;
      nbd_completion_callback cb = {.callback = AsyncRead::OnComplete, .user_data = p, .free = nullptr};
      if (Pick().Start([&](nbd_handle* h, nbd_completion_callback c) { return nbd_aio_pread(h, data, len, off, c, 0); },
                       cb) == -1) {
        p->read->Finish(*p, Failed("pread", off, len, -1));
      }
    }
  }

  Status Write(uint64_t offset, std::span<const std::byte> buf) override {
    if (!caps_.writable) return ReadOnly("pwrite", offset, buf.size());
    return Split("pwrite", offset, buf.size(), kMaxIoRequest, [&](Connection& c, uint64_t off, uint64_t len) {
      return c.Run([&](nbd_handle* h, nbd_completion_callback cb) {
        return nbd_aio_pwrite(h, buf.data() + (off - offset), len, off, cb, 0);
      });
    });
  }

  Status Flush() override {
    if (!caps_.can_flush) return OkStatus();  // the server says writes need no flush
    // Without multi-conn a flush covers only its own connection's writes, so flush all.
    for (auto& c : conns_) {
      int err = c->Run([](nbd_handle* h, nbd_completion_callback cb) { return nbd_aio_flush(h, cb, 0); });
      if (err != 0) return Failed("flush", 0, size_, err);
    }
    return OkStatus();
  }

  Status Zero(uint64_t offset, uint64_t length) override {
    if (!caps_.writable) return ReadOnly("zero", offset, length);
    if (!caps_.can_zero) return Volume::Zero(offset, length);
    return Split("zero", offset, length, kMaxZeroRequest, [&](Connection& c, uint64_t off, uint64_t len) {
      return c.Run([&](nbd_handle* h, nbd_completion_callback cb) { return nbd_aio_zero(h, len, off, cb, 0); });
    });
  }

  Status Trim(uint64_t offset, uint64_t length) override {
    if (!caps_.writable) return ReadOnly("trim", offset, length);
    if (!caps_.can_trim) return Volume::Trim(offset, length);
    return Split("trim", offset, length, kMaxZeroRequest, [&](Connection& c, uint64_t off, uint64_t len) {
      return c.Run([&](nbd_handle* h, nbd_completion_callback cb) { return nbd_aio_trim(h, len, off, cb, 0); });
    });
  }

  Status Extents(uint64_t offset, uint64_t length, std::vector<Extent>* out) override {
    if (!caps_.can_extents) return Volume::Extents(offset, length, out);
    const uint64_t end = offset + length;
    uint64_t pos = offset;
    while (pos < end) {
      struct Collect {
        std::vector<Extent> extents;
        static int OnExtent(void* ud, const char* context, uint64_t off, uint32_t* entries, size_t n, int*) {
          if (std::string_view(context) != LIBNBD_CONTEXT_BASE_ALLOCATION) return 0;
          auto* self = static_cast<Collect*>(ud);
          for (size_t i = 0; i + 1 < n; i += 2) {
            self->extents.push_back({off, entries[i], (entries[i + 1] & LIBNBD_STATE_ZERO) != 0});
            off += entries[i];
          }
          return 0;
        }
      } collect;
      uint64_t len = std::min(end - pos, kMaxZeroRequest);
      int err = Pick().Run([&](nbd_handle* h, nbd_completion_callback cb) {
        nbd_extent_callback ecb = {.callback = Collect::OnExtent, .user_data = &collect, .free = nullptr};
        return nbd_aio_block_status(h, len, pos, ecb, cb, 0);
      });
      if (err != 0) return Failed("block_status", pos, len, err);
      if (collect.extents.empty()) return IoError("block_status: " + uri_ + ": server returned no extents");
      for (Extent e : collect.extents) {
        if (e.offset >= end) break;
        e.length = std::min(e.length, end - e.offset);
        if (e.length == 0) continue;
        if (!out->empty() && out->back().zero == e.zero && out->back().offset + out->back().length == e.offset) {
          out->back().length += e.length;
        } else {
          out->push_back(e);
        }
        pos = e.offset + e.length;
      }
    }
    return OkStatus();
  }

 private:
  Connection& Pick() { return *conns_[next_.fetch_add(1, std::memory_order_relaxed) % conns_.size()]; }

  // Runs `op(connection, off, len)` over [offset, offset+length) in pieces of at most
  // `max`, one after another (pieces this large already fill the pipe).
  template <typename Op>
  Status Split(const char* call, uint64_t offset, uint64_t length, uint64_t max, Op op) {
    if (length <= max) {
      int err = op(Pick(), offset, length);
      return err == 0 ? OkStatus() : Failed(call, offset, length, err);
    }
    for (uint64_t done = 0; done < length; done += max) {
      uint64_t n = std::min(max, length - done);
      int err = op(Pick(), offset + done, n);
      if (err != 0) return Failed(call, offset + done, n, err);
    }
    return OkStatus();
  }

  Status Failed(const char* call, uint64_t offset, uint64_t length, int err) const {
    std::string what = std::string(call) + ": " + uri_ + " offset=" + std::to_string(offset) +
                       " length=" + std::to_string(length);
    if (err == -1) return NbdStatus(what);  // submission refused (connection dead, bad args)
    return ErrnoStatus(err, what);
  }

  Status ReadOnly(const char* call, uint64_t offset, uint64_t length) const {
    return Status(StatusCode::kPermissionDenied, std::string(call) + ": " + uri_ + " offset=" +
                                                     std::to_string(offset) + " length=" + std::to_string(length) +
                                                     ": volume is open read-only");
  }

  const std::string uri_;
  std::vector<std::unique_ptr<Connection>> conns_;
  const uint64_t size_;
  const VolumeCapabilities caps_;
  std::atomic<uint64_t> next_{0};
};

}  // namespace

Result<std::unique_ptr<Volume>> OpenNbdVolume(const std::string& uri, const OpenOptions& options) {
  std::vector<std::unique_ptr<Connection>> conns;
  FERRY_ASSIGN_OR_RETURN(auto first, Connection::Open(uri));
  nbd_handle* h = first->handle();
  int64_t size = nbd_get_size(h);
  if (size < 0) return NbdStatus("cannot get the size of " + uri);
  VolumeCapabilities caps;
  int ro = nbd_is_read_only(h);
  if (options.writable && ro == 1) {
    return Status(StatusCode::kPermissionDenied,
                  "NBD export " + uri + " is read-only: the destination must be writable "
                  "(start the server without -r / --readonly)");
  }
  caps.writable = options.writable;
  caps.can_flush = nbd_can_flush(h) == 1;
  caps.can_trim = options.writable && nbd_can_trim(h) == 1;
  caps.can_zero = options.writable && nbd_can_zero(h) == 1;
  caps.can_extents = nbd_can_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION) == 1;
  caps.extents_report_zero = caps.can_extents;
  bool multi = nbd_can_multi_conn(h) == 1;
  conns.push_back(std::move(first));
  for (int i = 1; multi && i < options.nbd_connections; ++i) {
    FERRY_ASSIGN_OR_RETURN(auto c, Connection::Open(uri));
    conns.push_back(std::move(c));
  }
  return std::unique_ptr<Volume>(new NbdVolume(uri, std::move(conns), static_cast<uint64_t>(size), caps));
}

}  // namespace ferry
