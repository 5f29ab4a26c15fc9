// ferry/journal.h: the persistent progress record of a migration (docs/journal-format.md
// is the normative spec of the file).
//
// A journal holds the identity of a migration (source, destination, volume size,
// granule size, a random migration id) and a bitmap of granules whose destination data
// is durable. It is two self-checking copies (slots) of header + bitmap; a commit writes
// the older slot with a higher generation and syncs it, so a crash at any instant leaves
// at least one valid slot (DESIGN.md invariants 5 to 7).
//
// The caller keeps invariant 5: it flushes the destination before calling Commit() with
// granules whose data it wrote. An open Journal holds an exclusive lock on the file, so
// two ferry processes never share one. Not thread-safe: one thread commits.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ferry/status.h"

namespace ferry {

struct JournalIdentity {
  std::string source;       // VolumeIdentity() of SRC
  std::string destination;  // VolumeIdentity() of DST
  uint64_t volume_size = 0;
  uint64_t granule_size = 0;
};

enum class JournalState : uint32_t {
  kCopying = 1,   // the copy is under way or was interrupted
  kCopied = 2,    // every granule is present
  kVerified = 3,  // a verify after the copy found the volumes equal
  kReleased = 4,  // the source's blocks were discarded after the verify
};
const char* JournalStateName(JournalState state);

// What a journal file says, for `ferry status`.
struct JournalInfo {
  JournalIdentity identity;
  JournalState state = JournalState::kCopying;
  uint64_t generation = 0;
  uint64_t granule_count = 0;
  uint64_t present_granules = 0;
  uint64_t present_bytes = 0;
  int64_t created_unix = 0;
  int64_t committed_unix_ns = 0;
  uint32_t writer_pid = 0;
  bool locked = false;  // a live ferry process holds it now
  std::string migration_id;  // hex
};

class Journal {
 public:
  ~Journal();

  // Creates a new journal at `path` (which must not exist or be empty) for `identity`,
  // atomically (written beside it and renamed), and opens it.
  static Result<std::unique_ptr<Journal>> Create(const std::string& path, const JournalIdentity& identity);
  // Opens an existing journal and checks that it belongs to `identity`: kFailedPrecondition
  // naming the differing field when it does not (invariant 7), kCorrupt when no slot is
  // valid, kFailedPrecondition when another process holds it. Never modifies the file.
  static Result<std::unique_ptr<Journal>> Open(const std::string& path, const JournalIdentity& identity);
  // Checks, without creating anything, that Create(path) can work: the directory exists
  // and is writable. Lets callers refuse bad input before they write elsewhere.
  static Status CheckCreatable(const std::string& path);
  // True when `path` exists and is not empty (so Open, not Create, applies).
  static bool Exists(const std::string& path);
  // Reads a journal without locking or changing it.
  static Result<JournalInfo> Inspect(const std::string& path);

  const std::string& path() const { return path_; }
  JournalState state() const { return state_; }
  uint64_t generation() const { return generation_; }
  // The durable present bitmap: bit i of word i/64 is granule i.
  const std::vector<uint64_t>& present() const { return present_; }

  // Durably records `present` (same layout) and `state` as the new committed record.
  // The destination must already be flushed for every granule newly present.
  Status Commit(const std::vector<uint64_t>& present, JournalState state);

 private:
  Journal() = default;
  Status WriteSlot(int slot);

  std::string path_;
  int fd_ = -1;
  JournalIdentity identity_;
  std::array<uint8_t, 16> migration_id_{};
  int64_t created_unix_ = 0;
  uint64_t granule_count_ = 0;
  uint64_t generation_ = 0;
  JournalState state_ = JournalState::kCopying;
  std::vector<uint64_t> present_;
};

}  // namespace ferry
