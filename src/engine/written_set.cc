// WrittenSet (see written_set.h). The file: "FERRYWR1", the volume size and granule
// size (little-endian u64), the bitmap's words, then the XXH64 of all that.
#include "engine/written_set.h"

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "engine/live_status.h"

namespace ferry {
namespace {

constexpr char kMagic[8] = {'F', 'E', 'R', 'R', 'Y', 'W', 'R', '1'};

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t GetU64(const std::string& in, size_t at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(in[at + static_cast<size_t>(i)]);
  return v;
}

}  // namespace

WrittenSet::WrittenSet(uint64_t volume_size, uint64_t granule_size)
    : volume_size_(volume_size), granule_size_(granule_size),
      words_(((volume_size + granule_size - 1) / granule_size + 63) / 64, 0) {}

void WrittenSet::Load(const std::string& path, bool had_progress) {
  std::ifstream f(path, std::ios::binary);
  std::lock_guard<std::mutex> lock(mu_);
  if (!f) {
    if (had_progress) unknown_ = "the journal has progress from an earlier run but no " + path;
    dirty_ = !had_progress;  // the first save says: nothing written yet
    return;
  }
  const std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t want = sizeof kMagic + 16 + 8 * words_.size() + 8;
  if (data.size() != want || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0 ||
      GetU64(data, want - 8) != XXH64(data.data(), want - 8, 0) || GetU64(data, 8) != volume_size_ ||
      GetU64(data, 16) != granule_size_) {
    unknown_ = path + " is damaged or belongs to another volume";
    return;
  }
  for (size_t i = 0; i < words_.size(); ++i) words_[i] = GetU64(data, 24 + 8 * i);
}

Status WrittenSet::Save(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!dirty_) return OkStatus();
  // The file's layout is the little-endian one in memory (header, words, checksum).
  static_assert(std::endian::native == std::endian::little, "WrittenSet's file is little-endian");
  std::string head(kMagic, sizeof kMagic);
  PutU64(&head, volume_size_);
  PutU64(&head, granule_size_);
  XXH64_state_t* st = XXH64_createState();
  XXH64_reset(st, 0);
  XXH64_update(st, head.data(), head.size());
  XXH64_update(st, words_.data(), 8 * words_.size());
  std::string sum;
  PutU64(&sum, XXH64_digest(st));
  XXH64_freeState(st);
  const off_t words_at = static_cast<off_t>(head.size()), sum_at = words_at + static_cast<off_t>(8 * words_.size());
  auto pwrite_all = [](int fd, const void* p, size_t n, off_t at) {
    return ::pwrite(fd, p, n, at) == static_cast<ssize_t>(n);
  };
  Status s;
  if (fd_ >= 0 && fd_path_ == path) {
    // In place, the changed words and the checksum, with no fsync: a process that dies
    // leaves them in the page cache; a power cut may leave a torn file, which Load
    // calls damaged (no release), never wrong.
    const size_t lo = dirty_lo_, hi = dirty_hi_;
    if (!pwrite_all(fd_, words_.data() + lo, 8 * (hi - lo), words_at + static_cast<off_t>(8 * lo)) ||
        !pwrite_all(fd_, sum.data(), sum.size(), sum_at)) {
      s = ErrnoStatus(errno ? errno : EIO, "cannot write " + path);
    }
  } else {
    // The first save: the whole file, renamed in (live_status.h); then kept open.
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    std::string whole = head;
    whole.append(reinterpret_cast<const char*>(words_.data()), 8 * words_.size());
    whole += sum;
    s = WriteFileAtomically(path, whole, "the written set");
    if (s.ok()) {
      fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
      if (fd_ < 0) s = ErrnoStatus(errno, "cannot open " + path);
      fd_path_ = path;
    }
  }
  if (s.ok()) {
    dirty_ = false;
    dirty_lo_ = words_.size();
    dirty_hi_ = 0;
  }
  return s;
}

WrittenSet::~WrittenSet() {
  if (fd_ >= 0) ::close(fd_);
}

std::pair<uint64_t, uint64_t> WrittenSet::Granules(uint64_t offset, uint64_t length) const {
  if (length == 0 || offset >= volume_size_) return {0, 0};
  return {offset / granule_size_, (std::min(offset + length, volume_size_) - 1) / granule_size_ + 1};
}

void WrittenSet::Mark(uint64_t offset, uint64_t length) {
  const auto [first, end] = Granules(offset, length);
  std::lock_guard<std::mutex> lock(mu_);
  for (uint64_t g = first; g < end; ++g) {
    uint64_t& w = words_[g / 64];
    const uint64_t bit = uint64_t{1} << (g % 64);
    if (!(w & bit)) {
      w |= bit;
      dirty_ = true;
      dirty_lo_ = std::min<size_t>(dirty_lo_, g / 64);
      dirty_hi_ = std::max<size_t>(dirty_hi_, g / 64 + 1);
    }
  }
}

bool WrittenSet::Any(uint64_t offset, uint64_t length) const {
  const auto [first, end] = Granules(offset, length);
  std::lock_guard<std::mutex> lock(mu_);
  for (uint64_t g = first; g < end; ++g) {
    if (words_[g / 64] & (uint64_t{1} << (g % 64))) return true;
  }
  return false;
}

std::string WrittenSet::unknown_reason() const {
  std::lock_guard<std::mutex> lock(mu_);
  return unknown_;
}

}  // namespace ferry
