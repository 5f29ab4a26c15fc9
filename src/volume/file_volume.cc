// FileVolume: a regular file or a block device, through pread/pwrite.
//
// Holes are found with SEEK_DATA/SEEK_HOLE; zero and trim punch holes in files
// (FALLOC_FL_PUNCH_HOLE) and use BLKZEROOUT / BLKDISCARD on block devices.
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <absl/base/thread_annotations.h>

#include <atomic>
#include <cerrno>
#include <deque>
#include <mutex>
#include <string>
#include <utility>

#include "volume/backends.h"

namespace ferry {
namespace {

std::string Where(const std::string& name, uint64_t offset, uint64_t length) {
  return name + " offset=" + std::to_string(offset) + " length=" + std::to_string(length);
}

class FileVolume final : public Volume {
 public:
  FileVolume(std::string path, int fd, uint64_t size, bool block_device, bool writable, bool evict_written)
      : path_(std::move(path)),
        fd_(fd),
        size_(size),
        block_device_(block_device),
        writable_(writable),
        evict_written_(evict_written && writable && !block_device) {}
  ~FileVolume() override { ::close(fd_); }

  const std::string& name() const override { return path_; }
  uint64_t size() const override { return size_; }

  VolumeCapabilities capabilities() const override {
    VolumeCapabilities c;
    c.writable = writable_;
    c.can_flush = true;
    c.can_trim = writable_;
    c.can_zero = writable_;
    c.can_extents = !block_device_;
    c.extents_report_zero = !block_device_;
    return c;
  }

  Status Read(uint64_t offset, std::span<std::byte> buf) override {
    size_t done = 0;
    while (done < buf.size()) {
      ssize_t n = ::pread(fd_, buf.data() + done, buf.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, "pread: " + Where(path_, offset, buf.size()));
      }
      if (n == 0) {
        return IoError("pread: " + Where(path_, offset, buf.size()) +
                       ": unexpected end of file (was the file truncated while ferry ran?)");
      }
      done += static_cast<size_t>(n);
    }
    return OkStatus();
  }

  static constexpr size_t kWritebackMin = 64 << 10;  // the smallest copy
  static constexpr uint64_t kWritebackBatch = 16 << 20;

  Status Write(uint64_t offset, std::span<const std::byte> buf) override {
    if (!writable_) return ReadOnly("pwrite", offset, buf.size());
    size_t done = 0;
    while (done < buf.size()) {
      ssize_t n = ::pwrite(fd_, buf.data() + done, buf.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, "pwrite: " + Where(path_, offset, buf.size()));
      }
      done += static_cast<size_t>(n);
    }
    // Start writeback of what was written, without waiting for it: the disk then works
    // during the copy instead of all at the final flush (fdatasync), which is what makes
    // a durable copy as fast as a non-durable one. Advisory: errors surface at flush.
    // Once per kWritebackBatch written, for the whole file: started per 1 MiB write, it
    // cost the writers more than it saved (1 GiB file to file on this VM's disk, 2
    // workers: 0.97 s, without it 0.66 s, per 16 MiB 0.54 s, nbdcopy --flush 0.55 s).
    // Only for a copy's large writes: for an application's small ones followed by its
    // own flush, it is one more system call and a write-back started twice.
    if (block_device_ || buf.size() < kWritebackMin) return OkStatus();
    if (evict_written_) {
      WriteBehind(offset, buf.size());
    } else if (unstarted_.fetch_add(buf.size()) + buf.size() >= kWritebackBatch) {
      unstarted_.store(0);
      ::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
    }
    return OkStatus();
  }

  Status Flush() override {
    while (::fdatasync(fd_) != 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "fdatasync: " + path_);
    }
    return OkStatus();
  }

  Status Zero(uint64_t offset, uint64_t length) override {
    if (!writable_) return ReadOnly("zero", offset, length);
    if (length == 0) return OkStatus();
    if (block_device_) {
      uint64_t range[2] = {offset, length};
      if (::ioctl(fd_, BLKZEROOUT, range) == 0) return OkStatus();
      return Volume::Zero(offset, length);
    }
    // A hole reads as zeroes and frees the space: what a sparse copy wants.
    if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                    static_cast<off_t>(length)) == 0) {
      return OkStatus();
    }
    if (::fallocate(fd_, FALLOC_FL_ZERO_RANGE, static_cast<off_t>(offset), static_cast<off_t>(length)) == 0) {
      return OkStatus();
    }
    return Volume::Zero(offset, length);
  }

  Status Trim(uint64_t offset, uint64_t length) override {
    if (!writable_) return ReadOnly("trim", offset, length);
    if (length == 0) return OkStatus();
    if (block_device_) {
      uint64_t range[2] = {offset, length};
      if (::ioctl(fd_, BLKDISCARD, range) != 0) {
        return ErrnoStatus(errno, "BLKDISCARD: " + Where(path_, offset, length));
      }
      return OkStatus();
    }
    if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                    static_cast<off_t>(length)) != 0) {
      return ErrnoStatus(errno, "punch hole: " + Where(path_, offset, length));
    }
    return OkStatus();
  }

  Status Extents(uint64_t offset, uint64_t length, std::vector<Extent>* out) override {
    if (block_device_) return Volume::Extents(offset, length, out);
    const uint64_t end = offset + length;
    uint64_t pos = offset;
    while (pos < end) {
      off_t data = ::lseek(fd_, static_cast<off_t>(pos), SEEK_DATA);
      if (data < 0) {
        if (errno == ENXIO) {  // no data after pos: the rest is a hole
          out->push_back({pos, end - pos, true});
          return OkStatus();
        }
        if (errno == EINVAL || errno == EOPNOTSUPP) {  // no SEEK_DATA here: all data
          out->push_back({pos, end - pos, false});
          return OkStatus();
        }
        return ErrnoStatus(errno, "lseek(SEEK_DATA): " + Where(path_, pos, end - pos));
      }
      uint64_t d = std::min<uint64_t>(static_cast<uint64_t>(data), end);
      if (d > pos) out->push_back({pos, d - pos, true});
      if (d >= end) break;
      off_t hole = ::lseek(fd_, data, SEEK_HOLE);
      if (hole < 0) return ErrnoStatus(errno, "lseek(SEEK_HOLE): " + Where(path_, d, end - d));
      uint64_t h = std::min<uint64_t>(static_cast<uint64_t>(hole), end);
      out->push_back({d, h - d, false});
      pos = h;
    }
    return OkStatus();
  }

 private:
  // How many writes may be under writeback before the oldest is waited for and its
  // pages dropped. 32 copies of 1 MiB: deep enough that the wait is for a write long
  // done; 1 GiB file to file, 2 workers, 7 interleaved rounds: 0.55 s against 0.58 to
  // 0.67 s keeping the pages, nbdcopy --flush 0.54 to 0.55 s (docs/benchmarks.md).
  static constexpr size_t kWriteBehindDepth = 32;

  // Starts writeback of [offset, offset + length), then waits for the oldest write still
  // tracked and drops its pages. Advisory, like the writeback above: errors surface at
  // Flush(), and a page dropped is only read again from the disk.
  void WriteBehind(uint64_t offset, uint64_t length) {
    ::sync_file_range(fd_, static_cast<off_t>(offset), static_cast<off_t>(length), SYNC_FILE_RANGE_WRITE);
    std::pair<uint64_t, uint64_t> oldest;
    {
      std::lock_guard lock(written_mu_);
      written_.emplace_back(offset, length);
      if (written_.size() <= kWriteBehindDepth) return;
      oldest = written_.front();
      written_.pop_front();
    }
    const auto [off, len] = oldest;
    ::sync_file_range(fd_, static_cast<off_t>(off), static_cast<off_t>(len),
                      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    ::posix_fadvise(fd_, static_cast<off_t>(off), static_cast<off_t>(len), POSIX_FADV_DONTNEED);
  }

  Status ReadOnly(const char* call, uint64_t offset, uint64_t length) const {
    return Status(StatusCode::kPermissionDenied,
                  std::string(call) + ": " + Where(path_, offset, length) + ": volume is open read-only");
  }

  const std::string path_;
  const int fd_;
  const uint64_t size_;
  const bool block_device_;
  const bool writable_;
  const bool evict_written_;
  std::atomic<uint64_t> unstarted_{0};  // bytes written since writeback was last started
  std::mutex written_mu_;
  std::deque<std::pair<uint64_t, uint64_t>> written_ ABSL_GUARDED_BY(written_mu_);  // under writeback, oldest first
};

}  // namespace

Result<std::unique_ptr<Volume>> OpenFileVolume(const std::string& path, const OpenOptions& options) {
  int flags = (options.writable ? O_RDWR : O_RDONLY) | O_CLOEXEC;
  int fd = ::open(path.c_str(), flags);
  if (fd < 0 && errno == ENOENT && options.writable && options.create_size > 0) {
    fd = ::open(path.c_str(), flags | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return ErrnoStatus(errno, "cannot create " + path);
    if (::ftruncate(fd, static_cast<off_t>(options.create_size)) != 0) {
      Status s = ErrnoStatus(errno, "cannot size new file " + path + " to " +
                                        std::to_string(options.create_size) + " bytes");
      ::close(fd);
      ::unlink(path.c_str());
      return s;
    }
  }
  if (fd < 0) {
    int err = errno;
    const char* hint = err == ENOENT     ? " (check the path)"
                       : err == EACCES  ? (options.writable ? " (check that it is writable)" : " (check permissions)")
                       : err == EROFS   ? " (the file system is read-only)"
                                        : "";
    Status s = ErrnoStatus(err, std::string("cannot open ") + path + (options.writable ? " for writing" : ""));
    return Status(s.code(), s.message() + hint);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status s = ErrnoStatus(errno, "fstat " + path);
    ::close(fd);
    return s;
  }
  uint64_t size;
  bool block_device = S_ISBLK(st.st_mode);
  if (block_device) {
    if (::ioctl(fd, BLKGETSIZE64, &size) != 0) {
      Status s = ErrnoStatus(errno, "BLKGETSIZE64 " + path);
      ::close(fd);
      return s;
    }
  } else if (S_ISREG(st.st_mode)) {
    size = static_cast<uint64_t>(st.st_size);
  } else {
    ::close(fd);
    return InvalidArgument(path + " is not a regular file or a block device");
  }
  return std::unique_ptr<Volume>(new FileVolume(path, fd, size, block_device, options.writable, options.evict_written));
}

bool SameVolume(const std::string& a, const std::string& b) {
  if (IsNbdUri(a) || IsNbdUri(b)) return a == b;
  struct stat sa, sb;
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
  if (S_ISBLK(sa.st_mode) && S_ISBLK(sb.st_mode)) return sa.st_rdev == sb.st_rdev;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace ferry
