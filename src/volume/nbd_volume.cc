// NbdVolume: an NBD export reached through libnbd.
//
// libnbd's synchronous calls hold the handle lock while they wait, so concurrent
// callers would run one at a time. Instead each connection runs libnbd's async API
// under one poller thread of ours (the pattern of nbdcopy's multi-thread-copying): a
// caller submits nbd_aio_* with a completion callback, wakes the poller through an
// eventfd so it re-reads the wanted direction, and sleeps until its command completes.
// So one connection carries many requests in flight, which is what servers without
// multi-conn (qemu-nbd's default) allow. With multi-conn, up to
// OpenOptions::nbd_connections connections share the load round-robin. A connection
// and its poller: nbd_connection.h.
#include <libnbd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "volume/backends.h"
#include "volume/nbd_connection.h"

namespace ferry {
namespace {

using nbd::Clock;
using nbd::Connection;
using nbd::NbdError;

// NBD requests are limited in size by servers (32 MiB is what every server accepts;
// qemu-nbd and nbdkit advertise it as their maximum), so larger I/O is split.
constexpr uint64_t kMaxIoRequest = 32ull << 20;
constexpr uint64_t kMaxZeroRequest = 1ull << 30;  // zero/trim/block-status carry no data

// Status for a failed libnbd call, classified by nbd_get_errno().
Status NbdStatus(const std::string& what) {
  int err = nbd_get_errno();
  Status s = ErrnoStatus(err ? err : EIO, "x");
  return Status(err ? s.code() : StatusCode::kIoError, NbdError(what));
}

// A command's errno that says the connection failed, not the request: libnbd retires
// the commands of a connection it is losing with these, possibly before the handle
// itself says it is dead.
bool ConnectionErrno(int err) {
  return err == ENOTCONN || err == ESHUTDOWN || err == ECONNRESET || err == EPIPE || err == ECONNABORTED;
}

using Clock = std::chrono::steady_clock;

class NbdVolume final : public Volume {
 public:
  // `reconnect`: OpenOptions::reconnect_timeout (zero: a lost connection stays lost).
  NbdVolume(std::string uri, std::vector<std::shared_ptr<Connection>> conns, uint64_t size, VolumeCapabilities caps,
            std::chrono::milliseconds reconnect)
      : uri_(std::move(uri)), size_(size), caps_(caps), reconnect_(reconnect), conns_(std::move(conns)) {}

  ~NbdVolume() override {
    // Every connection asks its server to close at once; each then waits for its own.
    for (const auto& c : conns_) c->Disconnect();
  }

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

  void ReadAsync(uint64_t offset, std::span<std::byte> buf, IoDone done) override {
    SendAsync("pread", offset, buf.size(), std::move(done),
              [&](nbd_handle* h, uint64_t at, uint64_t len, nbd_completion_callback c) {
                return nbd_aio_pread(h, buf.data() + at, len, offset + at, c, 0);
              });
  }

  void WriteAsync(uint64_t offset, std::span<const std::byte> buf, IoDone done) override {
    if (!caps_.writable) return done(ReadOnly("pwrite", offset, buf.size()));
    SendAsync("pwrite", offset, buf.size(), std::move(done),
              [&](nbd_handle* h, uint64_t at, uint64_t len, nbd_completion_callback c) {
                return nbd_aio_pwrite(h, buf.data() + at, len, offset + at, c, 0);
              });
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
    // More than one connection means multi-conn, under which a flush on one covers the
    // writes completed on all (NBD_FLAG_CAN_MULTI_CONN): one flush, not one each. A lost
    // connection still fails it, as before: its writes may be lost with it.
    const auto conns = Connections();
    auto lost = std::find_if(conns.begin(), conns.end(), [](const auto& c) { return c->lost(); });
    Connection& c = lost != conns.end() ? **lost : *conns.front();
    const int err = c.Run([](nbd_handle* h, nbd_completion_callback cb) { return nbd_aio_flush(h, cb, 0); });
    return err == 0 ? OkStatus() : Failed("flush", 0, size_, err);
  }

  Status Zero(uint64_t offset, uint64_t length) override {
    if (!caps_.writable) return ReadOnly("zero", offset, length);
    return caps_.can_zero ? NoData("zero", offset, length, nbd_aio_zero) : Volume::Zero(offset, length);
  }

  Status Trim(uint64_t offset, uint64_t length) override {
    if (!caps_.writable) return ReadOnly("trim", offset, length);
    return caps_.can_trim ? NoData("trim", offset, length, nbd_aio_trim) : Volume::Trim(offset, length);
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
      FERRY_RETURN_IF_ERROR(Attempt("block_status", pos, len, [&](Connection& c, uint64_t off, uint64_t n) {
        collect.extents.clear();  // a retry after a reconnection starts over
        return c.Run([&](nbd_handle* h, nbd_completion_callback cb) {
          nbd_extent_callback ecb = {.callback = Collect::OnExtent, .user_data = &collect, .free = nullptr};
          return nbd_aio_block_status(h, n, off, ecb, cb, 0);
        });
      }));
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
  // An asynchronous request in flight, in pieces (SendAsync).
  struct AsyncRequest {
    struct Piece {
      AsyncRequest* request;
      uint64_t at, length;
      std::atomic<bool> finished{false};  // by its completion or by a refused submission
    };
    NbdVolume* volume;
    const char* call;
    uint64_t offset;
    IoDone done;
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
      AsyncRequest* r = p->request;
      r->Finish(*p, *err == 0 ? OkStatus() : r->volume->Failed(r->call, r->offset + p->at, p->length, *err));
      return 1;  // retire the command
    }
  };
  // One request of up to kMaxIoRequest-sized pieces, sent with
  // `submit(handle, piece offset within the request, piece length, callback)`; `done`
  // runs once, when the last piece completes, with the first failure if any.
  template <typename Submit>
  void SendAsync(const char* call, uint64_t offset, uint64_t length, IoDone done, Submit submit) {
    if (length == 0) return done(OkStatus());
    auto* request = new AsyncRequest{.volume = this, .call = call, .offset = offset, .done = std::move(done)};
    for (uint64_t at = 0; at < length; at += kMaxIoRequest) {
      request->pieces.push_back(std::make_unique<AsyncRequest::Piece>(request, at, std::min(kMaxIoRequest, length - at)));
    }
    request->left = request->pieces.size();
    // Pieces are only touched through `request` until the last finishes; copy the list
    // first, since that finish deletes `request`.
    std::vector<AsyncRequest::Piece*> pieces;
    for (auto& p : request->pieces) pieces.push_back(p.get());
    for (AsyncRequest::Piece* p : pieces) {
      const uint64_t at = p->at, len = p->length;
      nbd_completion_callback cb = {.callback = AsyncRequest::OnComplete, .user_data = p, .free = nullptr};
      // A connection found lost fails the piece as retryable: the caller's retry goes
      // through the synchronous calls, which wait for the connection to be made again.
      std::shared_ptr<Connection> conn = Pick();
      if (conn->Start([&](nbd_handle* h, nbd_completion_callback c) { return submit(h, at, len, c); }, cb) == -1) {
        Status s = Failed(call, offset + at, len, -1);
        p->request->Finish(*p, conn->lost() ? IoError(s.message()) : std::move(s));
      }
    }
  }

  // A command that carries no data (nbd_aio_zero, nbd_aio_trim), in pieces.
  template <typename Call>
  Status NoData(const char* name, uint64_t offset, uint64_t length, Call call) {
    return Split(name, offset, length, kMaxZeroRequest, [&](Connection& c, uint64_t off, uint64_t len) {
      return c.Run([&](nbd_handle* h, nbd_completion_callback cb) { return call(h, len, off, cb, 0); });
    });
  }

  VolumeHealth Health() const override {
    std::lock_guard<std::mutex> lock(mu_);
    VolumeHealth h;
    h.outages = outages_;
    const auto now_down = down_since_ ? Clock::now() - *down_since_ : Clock::duration{};
    h.down_now_seconds = std::chrono::duration<double>(now_down).count();
    h.down_seconds = std::chrono::duration<double>(down_before_ + now_down).count();
    return h;
  }

  // The next connection round-robin, passing over lost ones while any is up. lost()
  // takes libnbd's handle lock, whose poller calls back into the engine: so it is never
  // asked under mu_ (the engine's lock -> mu_ in Health() would close a cycle).
  std::shared_ptr<Connection> Pick() {
    std::vector<std::shared_ptr<Connection>> conns;
    size_t first;
    {
      std::lock_guard<std::mutex> lock(mu_);
      conns = conns_;
      first = next_++;
    }
    for (size_t i = 0; i < conns.size(); ++i) {
      const auto& c = conns[(first + i) % conns.size()];
      if (!c->lost()) return c;
    }
    return conns[first % conns.size()];
  }
  bool AnyUp() {
    const auto conns = Connections();  // lost() outside mu_, as in Pick()
    return std::any_of(conns.begin(), conns.end(), [](const auto& c) { return !c->lost(); });
  }
  std::vector<std::shared_ptr<Connection>> Connections() {
    std::lock_guard<std::mutex> lock(mu_);
    return conns_;
  }

  // Runs `op(connection, off, len)`; when it fails because the connection was lost and
  // reconnect_ allows, waits for the connection to be made again and runs it again.
  template <typename Op>
  Status Attempt(const char* call, uint64_t off, uint64_t len, Op op) {
    for (;;) {
      std::shared_ptr<Connection> c = Pick();
      const int err = op(*c, off, len);
      if (err == 0) return OkStatus();
      Status s = Failed(call, off, len, err);
      if (reconnect_.count() == 0 || !(c->lost() || ConnectionErrno(err))) return s;
      if (c->lost() && AnyUp()) continue;  // another connection carries it (Pick passes this one over)
      FERRY_RETURN_IF_ERROR(Revive(c, s));
    }
  }

  // Makes the lost connection `lost` again, with backoff, one attempt at a time for the
  // volume; waits while another caller tries. Returns OK once it is replaced; within
  // reconnect_ of the loss it keeps waiting, past it each call fails at once
  // (kUnavailable) unless the backoff allows one more attempt.
  Status Revive(const std::shared_ptr<Connection>& lost, const Status& why) {
    constexpr std::chrono::milliseconds kFirstBackoff{100}, kMaxBackoff{1000};
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      auto slot = std::find(conns_.begin(), conns_.end(), lost);
      if (slot == conns_.end()) return OkStatus();  // made again meanwhile
      const auto now = Clock::now();
      if (!down_since_) {
        down_since_ = now;
        ++outages_;
      }
      const auto deadline = *down_since_ + reconnect_;
      const bool waiting = now < deadline;
      if (reviving_ || now < next_attempt_) {
        if (!waiting) return Down(why);
        revived_cv_.wait_until(lock, reviving_ ? deadline : std::min(next_attempt_, deadline));
        continue;
      }
      reviving_ = true;
      lock.unlock();
      // One attempt is bounded on its own: a server on its way down may accept and
      // never answer, and the window must leave room for the next attempt.
      const auto attempt = std::clamp<std::chrono::milliseconds>(reconnect_ / 6, kMaxBackoff, std::chrono::seconds(10));
      auto fresh = Reconnect(waiting ? std::min(deadline, now + attempt) : now + attempt);
      lock.lock();
      if (fresh.ok()) {
        // The lost connection is kept (not destroyed) while the volume lives: a caller
        // may still hold it, and its poller has already ended.
        slot = std::find(conns_.begin(), conns_.end(), lost);
        retired_.push_back(*slot);
        *slot = std::move(fresh).value();
        ReviveTheOthers(lock, Clock::now() + attempt);  // still reviving_: nobody else tries
        down_before_ += Clock::now() - *down_since_;
        down_since_.reset();
        backoff_ = kFirstBackoff;
        reviving_ = false;
        revived_cv_.notify_all();
        return OkStatus();
      }
      reviving_ = false;
      revived_cv_.notify_all();
      if (fresh.status().code() == StatusCode::kFailedPrecondition) return fresh.status();  // another volume answers
      last_attempt_ = fresh.status().message();
      next_attempt_ = Clock::now() + backoff_;
      backoff_ = std::min(backoff_ * 2, kMaxBackoff);
    }
  }

  // The server is back: the other connections it lost (multi-conn) are made again now,
  // as part of the same outage (Pick() passes over lost ones, so nobody else would).
  // Those that fail stay lost, and the volume runs on the rest.
  void ReviveTheOthers(std::unique_lock<std::mutex>& lock, Clock::time_point by) {
    for (size_t i = 0; i < conns_.size(); ++i) {
      std::shared_ptr<Connection> old = conns_[i];
      lock.unlock();
      if (!old->lost()) {  // asked unlocked, as in Pick()
        lock.lock();
        continue;
      }
      auto fresh = Reconnect(by);
      lock.lock();
      if (!fresh.ok() || conns_[i] != old) continue;
      retired_.push_back(old);
      conns_[i] = std::move(fresh).value();
    }
  }

  // A new connection by `by`, to a server that serves a volume of the same size as
  // before (kFailedPrecondition when it does not).
  Result<std::shared_ptr<Connection>> Reconnect(Clock::time_point by) const {
    auto c = Connection::Open(uri_, by, reconnect_);
    if (!c.ok()) return c.status();
    const int64_t size = nbd_get_size((*c)->handle());
    if (size < 0) return NbdStatus("cannot get the size of " + uri_);
    if (static_cast<uint64_t>(size) != size_) {
      return FailedPrecondition("NBD server " + uri_ + " came back serving " + std::to_string(size) + " bytes, not the " +
                                std::to_string(size_) + " it served before: not the same volume");
    }
    return std::shared_ptr<Connection>(std::move(c).value());
  }

  Status Down(const Status& why) const {
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(reconnect_).count();
    return Unavailable("source " + uri_ + " unreachable for more than " + std::to_string(secs) + " s (" +
                       why.message() + (last_attempt_.empty() ? "" : "; reconnecting: " + last_attempt_) + ")");
  }

  // Runs `op(connection, off, len)` over [offset, offset+length) in pieces of at most
  // `max`, one after another (pieces this large already fill the pipe).
  template <typename Op>
  Status Split(const char* call, uint64_t offset, uint64_t length, uint64_t max, Op op) {
    for (uint64_t done = 0; done < length; done += max) {
      FERRY_RETURN_IF_ERROR(Attempt(call, offset + done, std::min(max, length - done), op));
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
  const uint64_t size_;
  const VolumeCapabilities caps_;
  const std::chrono::milliseconds reconnect_;
  mutable std::mutex mu_;  // guards what follows
  std::vector<std::shared_ptr<Connection>> conns_;
  std::vector<std::shared_ptr<Connection>> retired_;  // lost, replaced
  uint64_t next_ = 0;
  std::optional<Clock::time_point> down_since_;  // the current loss began
  uint64_t outages_ = 0;
  Clock::duration down_before_{};                 // time lost in outages that ended
  bool reviving_ = false;                         // an attempt is under way
  Clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_{100};
  std::string last_attempt_;  // why the last attempt failed
  std::condition_variable revived_cv_;
};

}  // namespace

Result<std::unique_ptr<Volume>> OpenNbdVolume(const std::string& uri, const OpenOptions& options) {
  std::vector<std::shared_ptr<Connection>> conns;
  // Writable volumes never reconnect (OpenOptions::reconnect_timeout).
  const std::chrono::milliseconds reconnect = options.writable ? std::chrono::milliseconds(0) : options.reconnect_timeout;
  const auto deadline = reconnect.count() > 0 ? Clock::now() + reconnect : Clock::time_point::max();
  FERRY_ASSIGN_OR_RETURN(auto first, Connection::Open(uri, deadline, reconnect));
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
  caps.async_io = true;
  bool multi = nbd_can_multi_conn(h) == 1;
  conns.push_back(std::move(first));
  // The others are made together: each handshake waits for the server, and against one
  // whose connections take 10 ms to open and close, a 128 MiB migrate took 177 ms with
  // them made and closed one after another, 124 ms together (docs/design-notes.md).
  std::vector<std::future<Result<std::unique_ptr<Connection>>>> more;
  for (int i = 1; multi && i < options.nbd_connections; ++i) {
    more.push_back(std::async(std::launch::async, [&] { return Connection::Open(uri, deadline, reconnect); }));
  }
  for (auto& f : more) {
    FERRY_ASSIGN_OR_RETURN(auto c, f.get());
    conns.push_back(std::move(c));
  }
  return std::unique_ptr<Volume>(new NbdVolume(uri, std::move(conns), static_cast<uint64_t>(size), caps, reconnect));
}

}  // namespace ferry
