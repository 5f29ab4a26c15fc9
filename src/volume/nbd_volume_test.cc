// The NBD volume against a real server: nbdkit's memory plugin on a Unix socket
// (scripts/setup installs nbdkit; without it these tests fail, saying so).
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/test_temp_dir.h"
#include "ferry/volume.h"

extern char** environ;

namespace ferry {
namespace {

// nbdkit serving `args` (after the plugin's name) on a socket in a temporary folder,
// until destroyed. Up once its pid file is written, which nbdkit does when it accepts
// connections: the socket's file appears at bind, before listen, and a connection then
// was refused (one CI run in several).
class Server {
 public:
  explicit Server(const TestTempDir& dir, std::vector<std::string> plugin_args, bool readonly = false)
      : socket_(dir.Path("nbd.sock")), pidfile_(dir.Path("nbd.pid")) {
    std::filesystem::remove(pidfile_);
    std::vector<std::string> args = {"nbdkit", "--foreground", "--exit-with-parent", "-U", socket_, "-P", pidfile_};
    if (readonly) args.push_back("-r");
    args.insert(args.end(), plugin_args.begin(), plugin_args.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (::posix_spawnp(&pid_, "nbdkit", nullptr, nullptr, argv.data(), environ) != 0) pid_ = -1;
    for (int i = 0; i < 1000 && pid_ > 0 && !Ready(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  // Killed, as a crash would (nbdkit waits for its clients to leave on SIGTERM); its
  // socket goes with it.
  ~Server() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    std::filesystem::remove(socket_);
    std::filesystem::remove(pidfile_);
  }
  bool up() const { return pid_ > 0 && Ready(); }
  std::string uri() const { return "nbd+unix:///?socket=" + socket_; }

 private:
  bool Ready() const {
    std::error_code ec;
    return std::filesystem::file_size(pidfile_, ec) > 0 && !ec;
  }
  std::string socket_, pidfile_;
  pid_t pid_ = -1;
};

std::vector<std::byte> Bytes(size_t n, uint8_t v) { return std::vector<std::byte>(n, std::byte{v}); }

// A writable volume on a fresh `nbdkit memory 4M`.
class NbdMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.up()) << "nbdkit did not start: install it (scripts/setup)";
    OpenOptions o;
    o.writable = true;
    auto v = OpenVolume(server_.uri(), o);
    ASSERT_TRUE(v.ok()) << v.status().message();
    v_ = std::move(v).value();
  }
  TestTempDir tmp_;
  Server server_{tmp_, {"memory", "4M"}};
  std::unique_ptr<Volume> v_;
};

TEST_F(NbdMemoryTest, WritesReadBackAndFlush) {
  Volume* v = v_.get();
  EXPECT_EQ(v->size(), 4u << 20);
  EXPECT_TRUE(v->capabilities().writable);
  EXPECT_TRUE(v->capabilities().async_io);
  ASSERT_TRUE(v->Write(65536, Bytes(1 << 20, 0x5a)).ok());
  ASSERT_TRUE(v->Flush().ok());
  std::vector<std::byte> got(1 << 20);
  ASSERT_TRUE(v->Read(65536, got).ok());
  EXPECT_EQ(got, Bytes(1 << 20, 0x5a));
}

TEST_F(NbdMemoryTest, AsyncReadsAnswerEachIntoItsOwnBuffer) {
  Volume* v = v_.get();
  for (int i = 0; i < 16; ++i) ASSERT_TRUE(v->Write(static_cast<uint64_t>(i) << 16, Bytes(65536, static_cast<uint8_t>(i))).ok());
  std::vector<std::vector<std::byte>> bufs(16, std::vector<std::byte>(65536));
  std::vector<std::promise<Status>> done(16);
  for (int i = 0; i < 16; ++i) {
    v->ReadAsync(static_cast<uint64_t>(i) << 16, bufs[static_cast<size_t>(i)],
                    [&done, i](Status s) { done[static_cast<size_t>(i)].set_value(std::move(s)); });
  }
  for (int i = 0; i < 16; ++i) {
    EXPECT_TRUE(done[static_cast<size_t>(i)].get_future().get().ok());
    EXPECT_EQ(bufs[static_cast<size_t>(i)], Bytes(65536, static_cast<uint8_t>(i))) << "read " << i;
  }
}

TEST_F(NbdMemoryTest, AsyncWritesLandEachFromItsOwnBufferAndAFlushAfterThemKeepsThem) {
  Volume* v = v_.get();
  std::vector<std::vector<std::byte>> bufs;
  for (int i = 0; i < 16; ++i) bufs.push_back(Bytes(65536, static_cast<uint8_t>(0x80 + i)));
  std::vector<std::promise<Status>> done(16);
  for (int i = 0; i < 16; ++i) {
    v->WriteAsync(static_cast<uint64_t>(i) << 16, bufs[static_cast<size_t>(i)],
                  [&done, i](Status s) { done[static_cast<size_t>(i)].set_value(std::move(s)); });
  }
  for (int i = 0; i < 16; ++i) EXPECT_TRUE(done[static_cast<size_t>(i)].get_future().get().ok()) << "write " << i;
  ASSERT_TRUE(v->Flush().ok());
  std::vector<std::byte> got(65536);
  for (int i = 0; i < 16; ++i) {
    ASSERT_TRUE(v->Read(static_cast<uint64_t>(i) << 16, got).ok());
    EXPECT_EQ(got, bufs[static_cast<size_t>(i)]) << "write " << i;
  }
  // Past the end: the server's error reaches `done`, naming the call and the range.
  std::promise<Status> past;
  v->WriteAsync(4 << 20, Bytes(4096, 1), [&past](Status s) { past.set_value(std::move(s)); });
  Status s = past.get_future().get();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("pwrite"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("offset=4194304"), std::string::npos) << s.message();
}

TEST_F(NbdMemoryTest, ZeroAndTrimReadAsZeroesAndExtentsSeeThem) {
  Volume* v = v_.get();
  ASSERT_TRUE(v->Write(0, Bytes(4 << 20, 1)).ok());
  ASSERT_TRUE(v->Zero(1 << 20, 1 << 20).ok());
  std::vector<std::byte> got(1 << 20);
  ASSERT_TRUE(v->Read(1 << 20, got).ok());
  EXPECT_EQ(got, Bytes(1 << 20, 0));
  ASSERT_TRUE(v->capabilities().can_extents);
  std::vector<Extent> extents;
  ASSERT_TRUE(v->Extents(0, 4 << 20, &extents).ok());
  bool zero_seen = false;
  for (const Extent& e : extents) {
    if (e.zero && e.offset <= (1u << 20) && e.offset + e.length >= (2u << 20)) zero_seen = true;
  }
  EXPECT_TRUE(zero_seen) << extents.size() << " extents, none covering the zeroed MiB";
}

// Under multi-conn a flush on one connection covers the writes completed on all
// (NBD_FLAG_CAN_MULTI_CONN): the volume sends one, not one per connection. nbdkit's log
// filter shows what reached the server.
TEST(NbdVolumeTest, OneFlushCoversTheWritesOfEveryConnection) {
  TestTempDir tmp;
  const std::string log = tmp.Path("nbdkit.log");
  Server server(tmp, {"--filter=log", "memory", "4M", "logfile=" + log});
  ASSERT_TRUE(server.up()) << "nbdkit did not start: install it (scripts/setup)";
  {
    OpenOptions o;
    o.writable = true;
    auto v = OpenVolume(server.uri(), o);
    ASSERT_TRUE(v.ok()) << v.status().message();
    for (int i = 0; i < 8; ++i) ASSERT_TRUE((*v)->Write(i * 65536, Bytes(65536, static_cast<uint8_t>(i))).ok());
    ASSERT_TRUE((*v)->Flush().ok());
  }  // closed: the log is complete
  std::ifstream in(log);
  std::set<std::string> writers;
  int flushes = 0;
  for (std::string line; std::getline(in, line);) {
    const auto conn = line.find("connection=");
    if (conn == std::string::npos) continue;
    const std::string who = line.substr(conn, line.find(' ', conn) - conn);
    if (line.find(" Write id=") != std::string::npos) writers.insert(who);
    if (line.find(" Flush id=") != std::string::npos) ++flushes;
  }
  EXPECT_GE(writers.size(), 2u);  // the writes went over several connections
  EXPECT_EQ(flushes, 1);
}

TEST(NbdVolumeTest, AReadOnlyExportOpenedWritableIsPermissionDenied) {
  TestTempDir tmp;
  Server server(tmp, {"memory", "1M"}, /*readonly=*/true);
  ASSERT_TRUE(server.up()) << "nbdkit did not start: install it (scripts/setup)";
  OpenOptions o;
  o.writable = true;
  auto v = OpenVolume(server.uri(), o);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kPermissionDenied) << v.status().message();
  auto ro = OpenVolume(server.uri(), OpenOptions{});
  ASSERT_TRUE(ro.ok()) << ro.status().message();
  EXPECT_FALSE((*ro)->capabilities().writable);
  Status refused;
  (*ro)->WriteAsync(0, Bytes(512, 1), [&refused](Status s) { refused = std::move(s); });
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied) << refused.message();
}

TEST(NbdVolumeTest, NoServerIsNotFoundNamingTheUri) {
  TestTempDir tmp;
  const std::string uri = "nbd+unix:///?socket=" + tmp.Path("nobody.sock");
  auto v = OpenVolume(uri, OpenOptions{});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kNotFound) << v.status().message();
  EXPECT_NE(v.status().message().find("nobody.sock"), std::string::npos) << v.status().message();
}

TEST(NbdVolumeTest, ASourceReconnectsToARestartedServer) {
  TestTempDir tmp;
  OpenOptions o;
  o.reconnect_timeout = std::chrono::seconds(20);
  std::unique_ptr<Volume> v;
  {
    Server first(tmp, {"pattern", "1M"});
    ASSERT_TRUE(first.up()) << "nbdkit did not start: install it (scripts/setup)";
    auto opened = OpenVolume(first.uri(), o);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    v = std::move(opened).value();
    std::vector<std::byte> buf(4096);
    ASSERT_TRUE(v->Read(8192, buf).ok());
  }  // the server is gone
  Server second(tmp, {"pattern", "1M"});
  ASSERT_TRUE(second.up());
  // nbdkit's pattern plugin: each 8-byte word holds its own offset, big-endian.
  std::vector<std::byte> buf(8);
  Status s = v->Read(8192, buf);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(buf[6], std::byte{0x20});
  EXPECT_EQ(buf[7], std::byte{0x00});
}

}  // namespace
}  // namespace ferry
