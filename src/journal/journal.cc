// Journal: two checksummed slots of header + present bitmap; see docs/journal-format.md.
#include "ferry/journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>
#include <utility>

namespace ferry {
namespace {

static_assert(std::endian::native == std::endian::little, "the journal format is little-endian");

constexpr char kMagic[8] = {'F', 'E', 'R', 'R', 'Y', 'J', 'N', 'L'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kHeaderSize = 4096;
constexpr size_t kIdentityMax = 1024;
// Header field offsets (docs/journal-format.md).
constexpr size_t kOffVersion = 8, kOffHeaderSize = 12, kOffGeneration = 16, kOffVolumeSize = 24,
                 kOffGranuleSize = 32, kOffGranuleCount = 40, kOffPresentCount = 48, kOffState = 56,
                 kOffPid = 60, kOffMigrationId = 64, kOffCreated = 80, kOffCommitted = 88, kOffSourceLen = 96,
                 kOffDestLen = 100, kOffSource = 128, kOffDest = 1152, kOffChecksum = 4088;

uint64_t RoundUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
uint64_t GranuleCount(const JournalIdentity& id) {
  return id.granule_size ? (id.volume_size + id.granule_size - 1) / id.granule_size : 0;
}
uint64_t SlotSize(uint64_t granule_count) { return kHeaderSize + RoundUp((granule_count + 63) / 64 * 8, 4096); }

template <typename T>
void Put(std::vector<uint8_t>& b, size_t off, T v) { std::memcpy(b.data() + off, &v, sizeof v); }
template <typename T>
T Get(const std::vector<uint8_t>& b, size_t off) {
  T v;
  std::memcpy(&v, b.data() + off, sizeof v);
  return v;
}

uint64_t Checksum(const std::vector<uint8_t>& slot) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, slot.data(), kOffChecksum);
  XXH3_64bits_update(st, slot.data() + kHeaderSize, slot.size() - kHeaderSize);
  uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return h;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status PWriteAll(int fd, const void* data, size_t len, uint64_t off, const std::string& path) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (len > 0) {
    ssize_t n = ::pwrite(fd, p, len, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "writing journal " + path);
    }
    p += n, len -= static_cast<size_t>(n), off += static_cast<uint64_t>(n);
  }
  return OkStatus();
}

Status SyncFd(int fd, const std::string& path) {
  while (::fdatasync(fd) != 0) {
    if (errno != EINTR) return ErrnoStatus(errno, "syncing journal " + path);
  }
  return OkStatus();
}

// A decoded, valid slot.
struct Slot {
  JournalInfo info;
  std::array<uint8_t, 16> id{};
  std::vector<uint64_t> present;
};

// Decodes one slot; nullopt-like failure as a message in `why`.
bool DecodeSlot(const std::vector<uint8_t>& b, Slot* out, std::string* why) {
  if (std::memcmp(b.data(), kMagic, 8) != 0) return *why = "bad magic", false;
  if (Get<uint32_t>(b, kOffVersion) != kVersion) {
    return *why = "unsupported format version " + std::to_string(Get<uint32_t>(b, kOffVersion)), false;
  }
  if (Get<uint32_t>(b, kOffHeaderSize) != kHeaderSize) return *why = "bad header size", false;
  if (Get<uint64_t>(b, kOffChecksum) != Checksum(b)) return *why = "checksum mismatch", false;
  JournalInfo& i = out->info;
  i.generation = Get<uint64_t>(b, kOffGeneration);
  i.identity.volume_size = Get<uint64_t>(b, kOffVolumeSize);
  i.identity.granule_size = Get<uint64_t>(b, kOffGranuleSize);
  i.granule_count = Get<uint64_t>(b, kOffGranuleCount);
  i.present_granules = Get<uint64_t>(b, kOffPresentCount);
  uint32_t state = Get<uint32_t>(b, kOffState);
  if (state < 1 || state > 4) return *why = "bad state", false;
  i.state = static_cast<JournalState>(state);
  i.writer_pid = Get<uint32_t>(b, kOffPid);
  std::memcpy(out->id.data(), b.data() + kOffMigrationId, 16);
  i.created_unix = Get<int64_t>(b, kOffCreated);
  i.committed_unix_ns = Get<int64_t>(b, kOffCommitted);
  uint32_t sl = Get<uint32_t>(b, kOffSourceLen), dl = Get<uint32_t>(b, kOffDestLen);
  if (sl > kIdentityMax || dl > kIdentityMax) return *why = "bad identity length", false;
  i.identity.source.assign(reinterpret_cast<const char*>(b.data() + kOffSource), sl);
  i.identity.destination.assign(reinterpret_cast<const char*>(b.data() + kOffDest), dl);
  if (!std::has_single_bit(i.identity.granule_size) || i.granule_count != GranuleCount(i.identity) ||
      SlotSize(i.granule_count) != b.size()) {
    return *why = "inconsistent geometry", false;
  }
  out->present.resize((i.granule_count + 63) / 64);
  std::memcpy(out->present.data(), b.data() + kHeaderSize, out->present.size() * 8);
  static const char* hex = "0123456789abcdef";
  for (uint8_t c : out->id) i.migration_id += {hex[c >> 4], hex[c & 15]};
  return true;
}

// Reads and decodes the newest valid slot of an open journal file.
Result<Slot> ReadBest(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, "stat journal " + path);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  const std::string hint = "; delete it and rerun to start the migration over (the whole volume is recopied)";
  if (size < 2 * kHeaderSize || size % (2 * 4096) != 0) {
    char magic[8] = {};
    bool ours = ::pread(fd, magic, 8, 0) == 8 && std::memcmp(magic, kMagic, 8) == 0;
    if (!ours) return FailedPrecondition(path + " is not a ferry journal (no journal header); give a new journal path");
    return Corrupt("journal " + path + " is truncated (" + std::to_string(size) + " bytes)" + hint);
  }
  uint64_t slot_size = size / 2;
  Slot best;
  bool found = false, any_magic = false;
  std::string why[2];
  for (int s = 0; s < 2; ++s) {
    std::vector<uint8_t> b(slot_size);
    ssize_t n = ::pread(fd, b.data(), slot_size, static_cast<off_t>(s * slot_size));
    if (n < 0) return ErrnoStatus(errno, "reading journal " + path);
    if (static_cast<uint64_t>(n) != slot_size) return Corrupt("journal " + path + " is truncated" + hint);
    any_magic |= std::memcmp(b.data(), kMagic, 8) == 0;
    Slot slot;
    if (DecodeSlot(b, &slot, &why[s]) && (!found || slot.info.generation > best.info.generation)) {
      best = std::move(slot);
      found = true;
    }
  }
  if (!found) {
    if (!any_magic) return FailedPrecondition(path + " is not a ferry journal (no journal header); give a new journal path");
    return Corrupt("journal " + path + " is corrupt (slot 0: " + why[0] + ", slot 1: " + why[1] + ")" + hint);
  }
  return best;
}

}  // namespace

const char* JournalStateName(JournalState state) {
  switch (state) {
    case JournalState::kCopying: return "copying";
    case JournalState::kCopied: return "copied";
    case JournalState::kVerified: return "verified";
    case JournalState::kReleased: return "source released";
  }
  return "unknown";
}

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);  // closing drops the flock
}

Status Journal::CheckCreatable(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return ErrnoStatus(errno, "cannot create journal " + path + ": directory " + dir);
  if (!S_ISDIR(st.st_mode)) return FailedPrecondition("cannot create journal " + path + ": " + dir + " is not a directory");
  if (::access(dir.c_str(), W_OK) != 0) return ErrnoStatus(errno, "cannot create journal " + path + ": directory " + dir);
  return OkStatus();
}

bool Journal::Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && st.st_size > 0;
}

Status Journal::WriteSlot(int slot) {
  uint64_t slot_size = SlotSize(granule_count_);
  std::vector<uint8_t> b(slot_size, 0);
  std::memcpy(b.data(), kMagic, 8);
  Put<uint32_t>(b, kOffVersion, kVersion);
  Put<uint32_t>(b, kOffHeaderSize, kHeaderSize);
  Put<uint64_t>(b, kOffGeneration, generation_);
  Put<uint64_t>(b, kOffVolumeSize, identity_.volume_size);
  Put<uint64_t>(b, kOffGranuleSize, identity_.granule_size);
  Put<uint64_t>(b, kOffGranuleCount, granule_count_);
  uint64_t count = 0;
  for (uint64_t w : present_) count += std::popcount(w);
  Put<uint64_t>(b, kOffPresentCount, count);
  Put<uint32_t>(b, kOffState, static_cast<uint32_t>(state_));
  Put<uint32_t>(b, kOffPid, static_cast<uint32_t>(::getpid()));
  std::memcpy(b.data() + kOffMigrationId, migration_id_.data(), 16);
  Put<int64_t>(b, kOffCreated, created_unix_);
  Put<int64_t>(b, kOffCommitted, NowNs());
  Put<uint32_t>(b, kOffSourceLen, static_cast<uint32_t>(identity_.source.size()));
  Put<uint32_t>(b, kOffDestLen, static_cast<uint32_t>(identity_.destination.size()));
  std::memcpy(b.data() + kOffSource, identity_.source.data(), identity_.source.size());
  std::memcpy(b.data() + kOffDest, identity_.destination.data(), identity_.destination.size());
  std::memcpy(b.data() + kHeaderSize, present_.data(), present_.size() * 8);
  Put<uint64_t>(b, kOffChecksum, Checksum(b));
  FERRY_RETURN_IF_ERROR(PWriteAll(fd_, b.data(), b.size(), slot * slot_size, path_));
  return SyncFd(fd_, path_);
}

static Status Lock(int fd, const std::string& path) {
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return OkStatus();
  if (errno == EWOULDBLOCK) {
    return FailedPrecondition("journal " + path +
                              " is in use by another ferry process; wait for it to finish or stop it first");
  }
  return ErrnoStatus(errno, "locking journal " + path);
}

Result<std::unique_ptr<Journal>> Journal::Create(const std::string& path, const JournalIdentity& identity) {
  if (identity.source.size() > kIdentityMax || identity.destination.size() > kIdentityMax) {
    return InvalidArgument("volume name too long for the journal (at most 1024 bytes)");
  }
  std::unique_ptr<Journal> j(new Journal());
  j->path_ = path;
  j->identity_ = identity;
  j->granule_count_ = GranuleCount(identity);
  j->present_.assign((j->granule_count_ + 63) / 64, 0);
  j->created_unix_ = NowNs() / 1000000000;
  std::random_device rd;
  for (auto& c : j->migration_id_) c = static_cast<uint8_t>(rd());

  // Write the whole file beside its final name and rename it in, so a crash never
  // leaves a half-made journal under `path`.
  std::string tmp = path + ".tmp" + std::to_string(::getpid());
  j->fd_ = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (j->fd_ < 0) return ErrnoStatus(errno, "cannot create journal " + path);
  uint64_t file_size = 2 * SlotSize(j->granule_count_);
  Status s = ::ftruncate(j->fd_, static_cast<off_t>(file_size)) == 0 ? OkStatus()
                                                                     : ErrnoStatus(errno, "cannot size journal " + path);
  // Both slots start valid (generations 0 and 1), so the file is recognisable and a
  // damaged slot is detected as damage from the first commit on.
  j->generation_ = 0;
  if (s.ok()) s = j->WriteSlot(0);
  j->generation_ = 1;
  if (s.ok()) s = j->WriteSlot(1);
  if (s.ok()) s = Lock(j->fd_, path);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = ErrnoStatus(errno, "cannot create journal " + path);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return j;
}

Result<std::unique_ptr<Journal>> Journal::Open(const std::string& path, const JournalIdentity& identity) {
  std::unique_ptr<Journal> j(new Journal());
  j->path_ = path;
  j->fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (j->fd_ < 0) return ErrnoStatus(errno, "cannot open journal " + path);
  FERRY_ASSIGN_OR_RETURN(Slot slot, ReadBest(j->fd_, path));
  const JournalIdentity& have = slot.info.identity;
  auto mismatch = [&](const std::string& field, const std::string& theirs, const std::string& ours) {
    return FailedPrecondition("journal " + path + " belongs to another migration: its " + field + " is " + theirs +
                              ", this run's is " + ours +
                              "; use a new journal file, or rerun with the original arguments");
  };
  if (have.source != identity.source) return mismatch("source", have.source, identity.source);
  if (have.destination != identity.destination) {
    return mismatch("destination", have.destination, identity.destination);
  }
  if (have.volume_size != identity.volume_size) {
    return mismatch("source size", std::to_string(have.volume_size), std::to_string(identity.volume_size));
  }
  if (have.granule_size != identity.granule_size) {
    return mismatch("granule", std::to_string(have.granule_size), std::to_string(identity.granule_size));
  }
  FERRY_RETURN_IF_ERROR(Lock(j->fd_, path));
  j->identity_ = have;
  j->migration_id_ = slot.id;
  j->created_unix_ = slot.info.created_unix;
  j->granule_count_ = slot.info.granule_count;
  j->generation_ = slot.info.generation;
  j->state_ = slot.info.state;
  j->present_ = std::move(slot.present);
  return j;
}

Result<JournalInfo> Journal::Inspect(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "cannot open journal " + path);
  Result<Slot> slot = ReadBest(fd, path);
  bool locked = false;
  if (slot.ok()) {
    if (::flock(fd, LOCK_SH | LOCK_NB) == 0) ::flock(fd, LOCK_UN);
    else locked = errno == EWOULDBLOCK;
  }
  ::close(fd);
  if (!slot.ok()) return slot.status();
  JournalInfo info = slot->info;
  info.locked = locked;
  uint64_t g = info.identity.granule_size;
  info.present_bytes = info.present_granules * g;
  uint64_t last = info.granule_count - 1;
  if (info.granule_count && (slot->present[last / 64] >> (last % 64) & 1)) {
    info.present_bytes -= info.granule_count * g - info.identity.volume_size;
  }
  return info;
}

Status Journal::Commit(const std::vector<uint64_t>& present, JournalState state) {
  // `present` may be present_ itself (a state-only commit), so build the new map first.
  std::vector<uint64_t> next((granule_count_ + 63) / 64, 0);
  std::copy_n(present.begin(), std::min(present.size(), next.size()), next.begin());
  if (granule_count_ % 64 && !next.empty()) next.back() &= (1ull << (granule_count_ % 64)) - 1;
  std::vector<uint64_t> old = std::exchange(present_, std::move(next));
  JournalState old_state = state_;
  state_ = state;
  ++generation_;
  Status s = WriteSlot(static_cast<int>(generation_ & 1));
  if (!s.ok()) {  // the other slot still holds the last good record
    --generation_;
    present_ = std::move(old);
    state_ = old_state;
  }
  return s;
}

}  // namespace ferry
