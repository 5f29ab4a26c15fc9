#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
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
