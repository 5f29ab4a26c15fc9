// ferry/volume.h: the block-volume interface every ferry module reads and writes through.
//
// A Volume is a fixed-size array of bytes: a regular file, a block device, an NBD export
// (through libnbd), or memory (tests). Like leveldb's Env, all device access sits behind
// this one interface, and wrappers decorate it (FaultVolume injects errors, delays and
// lost unflushed writes for crash tests).
//
// Contract for every implementation:
// - All methods are thread-safe; many reads and writes may be in flight at once.
// - Offsets and lengths are bytes; a request must lie within [0, size()).
// - Read/Write transfer the whole buffer or fail; a failure's Status names the call,
//   the volume, the offset and length, and says (retryable()) whether a retry may help.
// - Optional operations have safe defaults: Zero() writes zeroes, Trim() is refused
//   (kNotSupported), Extents() reports one data extent over the range. Capabilities()
//   tells the caller which operations are native.
// - A Volume opened read-only refuses Write/Zero/Trim with kPermissionDenied.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ferry/status.h"

namespace ferry {

struct VolumeCapabilities {
  bool writable = false;
  bool can_flush = false;    // Flush() makes writes durable (false: durability unknown)
  bool can_trim = false;     // native discard
  bool can_zero = false;     // native zero (no data transfer)
  bool can_extents = false;  // Extents() reports real allocation, not a guess
  // Ranges that Extents() reports as zero are guaranteed to read as zeroes.
  bool extents_report_zero = false;
  // ReadAsync and WriteAsync return once the request is sent and call `done` later from
  // a thread of the volume (NBD), rather than doing the I/O on the caller's thread.
  bool async_io = false;
};

// How a volume's connection fares (an NBD source that reconnects). Default: always up.
struct VolumeHealth {
  uint64_t outages = 0;        // times the connection was lost
  double down_seconds = 0;     // time without it in all, the current loss included
  double down_now_seconds = 0; // how long the current loss has lasted; 0: connected
};

struct Extent {
  uint64_t offset = 0;
  uint64_t length = 0;
  bool zero = false;  // the range reads as zeroes (a hole, or known-zero allocation)
};

class Volume {
 public:
  virtual ~Volume() = default;

  // A human-readable name for messages: the path or the URI.
  virtual const std::string& name() const = 0;
  virtual uint64_t size() const = 0;
  virtual VolumeCapabilities capabilities() const = 0;

  virtual Status Read(uint64_t offset, std::span<std::byte> buf) = 0;
  // Reads without holding the caller's thread while the data travels: returns once the
  // request is sent, and `done` gets its result exactly once, later, from a thread of
  // the volume (NBD: the connection's poller, as nbdcopy's async copying does). So one
  // caller keeps any number of reads in flight. `buf` must stay valid until `done` runs;
  // `done` must return quickly and must not call into this volume. Default (files,
  // memory, wrappers): Read(), then `done` before returning.
  using IoDone = std::function<void(Status)>;
  virtual void ReadAsync(uint64_t offset, std::span<std::byte> buf, IoDone done);
  virtual Status Write(uint64_t offset, std::span<const std::byte> buf) = 0;
  // Write() without holding the caller's thread, as ReadAsync: `buf` stays valid until
  // `done` runs, once, with the write's result; the write counts as completed for
  // Flush() once `done` is called. Default: Write(), then `done` before returning.
  virtual void WriteAsync(uint64_t offset, std::span<const std::byte> buf, IoDone done);
  // Makes every write that completed before the call durable.
  virtual Status Flush() = 0;
  // Makes [offset, offset+length) read as zeroes. Default: writes zero buffers.
  virtual Status Zero(uint64_t offset, uint64_t length);
  // Discards [offset, offset+length); afterwards the range may read as anything the
  // device chooses (usually zeroes). Default: kNotSupported.
  virtual Status Trim(uint64_t offset, uint64_t length);
  // Allocation of [offset, offset+length): ascending, contiguous extents covering the
  // range exactly. Default: one data extent (zero=false).
  virtual Status Extents(uint64_t offset, uint64_t length, std::vector<Extent>* out);
  // The connection's outages so far. Default: none.
  virtual VolumeHealth Health() const { return {}; }
};

// How to open a volume.
struct OpenOptions {
  bool writable = false;
  // Regular-file destination that does not exist: create it with this size (0: do not
  // create; a missing file is kNotFound).
  uint64_t create_size = 0;
  // Number of NBD connections to open when the server allows multi-conn. Default 4,
  // as nbdcopy.
  int nbd_connections = 4;
  // A read-only NBD volume (a source) survives losing its server: a lost connection is
  // made again with backoff (as QEMU's NBD client does with reconnect-delay), and a
  // request waits for it up to this long from the loss; after that requests fail at
  // once with kUnavailable until a reconnection succeeds (each failing request may
  // start one attempt, at most one a second). A connection that owes replies and hears
  // nothing from its server for this long is taken for lost (a server that hangs with
  // its connection open; a server that queues requests for longer is not one to lose
  // on a guess). Connecting at open is bounded by it too. 0: none of
  // this (writable volumes never reconnect: writes a restarted server lost unflushed
  // would be lost silently).
  std::chrono::milliseconds reconnect_timeout{0};
  // A file written once and not read back soon (a bulk copy's destination): each large
  // write is written back at once, and its pages are dropped from the page cache once
  // a few later writes have been written back too, as nbdcopy does. The page cache then
  // stays small instead of filling memory with a copy nobody reads. Durability is
  // unchanged: only Flush() makes writes durable. Default false: a live migration's
  // application reads the destination and wants its cache. Files only.
  bool evict_written = false;
};

// True when `spec` is an NBD URI (nbd://, nbds://, nbd+unix://, nbds+unix://, ...).
bool IsNbdUri(const std::string& spec);

// Opens a path (regular file or block device) or an NBD URI. Errors name the spec and
// what to do: kNotFound for a missing file or an unreachable server, kPermissionDenied
// for a read-only file or export opened writable, kInvalidArgument for a malformed URI.
Result<std::unique_ptr<Volume>> OpenVolume(const std::string& spec, const OpenOptions& options);

// A stable identity of what `spec` names, recorded in journals: the canonical absolute
// path for files (it need not exist), the URI for NBD.
std::string VolumeIdentity(const std::string& spec);

// True when both specs name the same file or block device (same inode or device
// number), or are the same NBD URI. A path that does not exist is never the same.
bool SameVolume(const std::string& a, const std::string& b);

// A volume in memory, zero-filled; for tests and simulation. Thread-safe.
std::unique_ptr<Volume> NewMemoryVolume(std::string name, uint64_t size);

}  // namespace ferry
