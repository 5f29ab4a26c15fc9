// WrittenSet (see written_set.h). The file: "FERRYWR1", the volume size and granule
// size (little-endian u64), the bitmap's words, then the XXH64 of all that.
#include "engine/written_set.h"

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

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
  std::string data;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!dirty_) return OkStatus();
    dirty_ = false;
    data.assign(kMagic, sizeof kMagic);
    PutU64(&data, volume_size_);
    PutU64(&data, granule_size_);
    for (uint64_t w : words_) PutU64(&data, w);
  }
  PutU64(&data, XXH64(data.data(), data.size(), 0));
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  Status s = fd >= 0 ? OkStatus() : ErrnoStatus(errno, "cannot write " + tmp);
  if (s.ok() && ::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
    s = ErrnoStatus(errno ? errno : EIO, "cannot write " + tmp);
  }
  if (s.ok() && ::fsync(fd) != 0) s = ErrnoStatus(errno, "cannot write " + tmp);
  if (fd >= 0) ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = ErrnoStatus(errno, "cannot write " + path);
  if (!s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    dirty_ = true;  // saved next time
  }
  return s;
}

void WrittenSet::Mark(uint64_t offset, uint64_t length) {
  if (length == 0 || offset >= volume_size_) return;
  const uint64_t first = offset / granule_size_, last = (std::min(offset + length, volume_size_) - 1) / granule_size_;
  std::lock_guard<std::mutex> lock(mu_);
  for (uint64_t g = first; g <= last; ++g) {
    uint64_t& w = words_[g / 64];
    const uint64_t bit = uint64_t{1} << (g % 64);
    if (!(w & bit)) {
      w |= bit;
      dirty_ = true;
    }
  }
}

bool WrittenSet::Any(uint64_t offset, uint64_t length) const {
  if (length == 0 || offset >= volume_size_) return false;
  const uint64_t first = offset / granule_size_, last = (std::min(offset + length, volume_size_) - 1) / granule_size_;
  std::lock_guard<std::mutex> lock(mu_);
  for (uint64_t g = first; g <= last; ++g) {
    if (words_[g / 64] & (uint64_t{1} << (g % 64))) return true;
  }
  return false;
}

std::string WrittenSet::unknown_reason() const {
  std::lock_guard<std::mutex> lock(mu_);
  return unknown_;
}

}  // namespace ferry
