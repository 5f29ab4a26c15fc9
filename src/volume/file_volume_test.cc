#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/test_temp_dir.h"
#include "ferry/volume.h"
#include "volume/zero_map.h"

namespace ferry {
namespace {

class FileVolumeTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& n) { return tmp_.Path(n); }
  TestTempDir tmp_;
  const std::string& dir_ = tmp_.path();
};

std::vector<std::byte> Bytes(size_t n, uint8_t v) { return std::vector<std::byte>(n, std::byte{v}); }

TEST_F(FileVolumeTest, CreatesMissingFileAtRequestedSize) {
  OpenOptions o;
  o.writable = true;
  o.create_size = 1 << 20;
  auto v = OpenVolume(Path("new.img"), o);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ((*v)->size(), 1u << 20);
  EXPECT_EQ(std::filesystem::file_size(Path("new.img")), 1u << 20);
}

TEST_F(FileVolumeTest, MissingFileIsNotFoundWithThePath) {
  auto v = OpenVolume(Path("absent.img"), OpenOptions{});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kNotFound);
  EXPECT_NE(v.status().message().find("absent.img"), std::string::npos);
}

TEST_F(FileVolumeTest, DirectoryIsRefused) {
  auto v = OpenVolume(dir_, OpenOptions{});
  ASSERT_FALSE(v.ok());
}

TEST_F(FileVolumeTest, ReadOnlyVolumeRefusesWrites) {
  std::ofstream(Path("a.img")) << std::string(8192, 'x');
  auto v = OpenVolume(Path("a.img"), OpenOptions{});
  ASSERT_TRUE(v.ok());
  auto buf = Bytes(4096, 1);
  EXPECT_EQ((*v)->Write(0, buf).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ((*v)->Zero(0, 4096).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ((*v)->Trim(0, 4096).code(), StatusCode::kPermissionDenied);
}

TEST_F(FileVolumeTest, ReadPastEndFailsClearly) {
  std::ofstream(Path("a.img")) << std::string(4096, 'x');
  auto v = OpenVolume(Path("a.img"), OpenOptions{});
  ASSERT_TRUE(v.ok());
  auto buf = Bytes(8192, 0);
  Status s = (*v)->Read(0, buf);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("offset=0 length=8192"), std::string::npos);
}

TEST_F(FileVolumeTest, ExtentsReportHolesAndZeroPunchesThem) {
  OpenOptions o;
  o.writable = true;
  o.create_size = 4 << 20;
  auto v = OpenVolume(Path("sparse.img"), o);
  ASSERT_TRUE(v.ok());
  auto data = Bytes(1 << 20, 7);
  ASSERT_TRUE((*v)->Write(1 << 20, data).ok());
  ASSERT_TRUE((*v)->Flush().ok());
  IntervalSet zero;
  ASSERT_TRUE(ReadZeroMap(**v, &zero).ok());
  EXPECT_TRUE(zero.Covers(0, 1 << 20));
  EXPECT_FALSE(zero.Intersects(1 << 20, 1 << 20));
  EXPECT_TRUE(zero.Covers(2 << 20, 2 << 20));

  ASSERT_TRUE((*v)->Zero(1 << 20, 1 << 20).ok());
  auto back = Bytes(1 << 20, 9);
  ASSERT_TRUE((*v)->Read(1 << 20, back).ok());
  EXPECT_EQ(back, Bytes(1 << 20, 0));
}

TEST_F(FileVolumeTest, WriteThenReadRoundTrips) {
  OpenOptions o;
  o.writable = true;
  o.create_size = 1 << 20;
  auto v = OpenVolume(Path("rt.img"), o);
  ASSERT_TRUE(v.ok());
  auto data = Bytes(65536, 0xab);
  ASSERT_TRUE((*v)->Write(4096, data).ok());
  auto back = Bytes(65536, 0);
  ASSERT_TRUE((*v)->Read(4096, back).ok());
  EXPECT_EQ(back, data);
}

// How many of the pages of [offset, offset + length) of the file are in the page cache.
size_t ResidentPages(const std::string& path, uint64_t offset, uint64_t length) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  void* map = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(offset));
  ::close(fd);
  if (map == MAP_FAILED) return 0;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> in_core((length + page - 1) / page);
  size_t resident = 0;
  if (::mincore(map, length, in_core.data()) == 0) {
    for (unsigned char c : in_core) resident += c & 1;
  }
  ::munmap(map, length);
  return resident;
}

// Writes `mib` copies of 1 MiB, each with its own byte, through a volume opened with
// `evict_written`; checks they all read back.
void WriteCopies(const std::string& path, int mib, bool evict_written) {
  OpenOptions o;
  o.writable = true;
  o.create_size = static_cast<uint64_t>(mib) << 20;
  o.evict_written = evict_written;
  auto v = OpenVolume(path, o);
  ASSERT_TRUE(v.ok()) << v.status().message();
  for (int i = 0; i < mib; i++) {
    auto b = Bytes(1 << 20, static_cast<uint8_t>(i));
    ASSERT_TRUE((*v)->Write(static_cast<uint64_t>(i) << 20, b).ok());
  }
  ASSERT_TRUE((*v)->Flush().ok());
  std::vector<std::byte> got(1 << 20);
  for (int i = 0; i < mib; i++) {
    ASSERT_TRUE((*v)->Read(static_cast<uint64_t>(i) << 20, got).ok());
    ASSERT_EQ(got, Bytes(1 << 20, static_cast<uint8_t>(i))) << "MiB " << i;
  }
}

TEST_F(FileVolumeTest, EvictWrittenDropsTheOldWritesFromThePageCache) {
  struct statfs fs;
  ASSERT_EQ(::statfs(dir_.c_str(), &fs), 0);
  if (fs.f_type == TMPFS_MAGIC) GTEST_SKIP() << "tmpfs keeps its pages: the page cache is its storage";
  // Checked before the data is read back (which brings pages in again): a volume that
  // keeps its pages has all of the first 16 MiB resident, one that evicts none of it.
  const uint64_t kFirst = 16 << 20;
  {
    OpenOptions o;
    o.writable = true;
    o.create_size = 64 << 20;
    o.evict_written = true;
    auto v = OpenVolume(Path("evict.img"), o);
    ASSERT_TRUE(v.ok()) << v.status().message();
    for (int i = 0; i < 64; i++) ASSERT_TRUE((*v)->Write(static_cast<uint64_t>(i) << 20, Bytes(1 << 20, 7)).ok());
    EXPECT_EQ(ResidentPages(Path("evict.img"), 0, kFirst), 0u);
  }
  {
    OpenOptions o;
    o.writable = true;
    o.create_size = 64 << 20;
    auto v = OpenVolume(Path("keep.img"), o);
    ASSERT_TRUE(v.ok()) << v.status().message();
    for (int i = 0; i < 64; i++) ASSERT_TRUE((*v)->Write(static_cast<uint64_t>(i) << 20, Bytes(1 << 20, 7)).ok());
    EXPECT_GT(ResidentPages(Path("keep.img"), 0, kFirst), 0u);
  }
  // Dropping pages loses no data: every write reads back, before and after the flush.
  WriteCopies(Path("data.img"), 48, /*evict_written=*/true);
}

TEST_F(FileVolumeTest, SameVolumeSeesThroughLinks) {
  std::ofstream(Path("a.img")) << "x";
  std::filesystem::create_symlink(Path("a.img"), Path("link.img"));
  std::filesystem::create_hard_link(Path("a.img"), Path("hard.img"));
  EXPECT_TRUE(SameVolume(Path("a.img"), Path("link.img")));
  EXPECT_TRUE(SameVolume(Path("a.img"), Path("hard.img")));
  EXPECT_FALSE(SameVolume(Path("a.img"), Path("other.img")));
}

TEST(VolumeSpecTest, RecognisesNbdUris) {
  EXPECT_TRUE(IsNbdUri("nbd://localhost/x"));
  EXPECT_TRUE(IsNbdUri("nbds://localhost/x"));
  EXPECT_TRUE(IsNbdUri("nbd+unix:///x?socket=/tmp/s"));
  EXPECT_FALSE(IsNbdUri("/dev/sda"));
  EXPECT_FALSE(IsNbdUri("file.img"));
}

TEST(VolumeSpecTest, UnknownSchemeIsInvalidArgument) {
  auto v = OpenVolume("http://example/disk", OpenOptions{});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ferry
