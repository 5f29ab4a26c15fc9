#include "serve/nbdkit_process.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/test_temp_dir.h"

namespace ferry {
namespace {

class NbdkitCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(tmp_.Path("plugin.so")) << "";
    ::setenv("FERRY_NBDKIT_PLUGIN", tmp_.Path("plugin.so").c_str(), 1);
  }
  void TearDown() override { ::unsetenv("FERRY_NBDKIT_PLUGIN"); }
  static bool Has(const std::vector<std::string>& args, const std::string& a) {
    return std::find(args.begin(), args.end(), a) != args.end();
  }
  TestTempDir tmp_;
};

TEST_F(NbdkitCommandTest, ASocketIsServedAndThePluginComesLast) {
  NbdkitEndpoint e;
  e.socket = tmp_.Path("s.sock");
  e.run = "true";
  auto args = NbdkitCommand(e);
  ASSERT_TRUE(args.ok()) << args.status().message();
  EXPECT_EQ(args->front(), "nbdkit");
  EXPECT_TRUE(Has(*args, "--unix") && Has(*args, tmp_.Path("s.sock")) && Has(*args, "--run"));
  EXPECT_EQ(args->back(), tmp_.Path("plugin.so"));
}

TEST_F(NbdkitCommandTest, WhereClientsConnectIsOneThingAndParses) {
  NbdkitEndpoint none;
  EXPECT_NE(NbdkitCommand(none).status().message().find("where should clients connect"), std::string::npos);
  NbdkitEndpoint both;
  both.socket = tmp_.Path("s.sock");
  both.listen = "127.0.0.1:10809";
  EXPECT_EQ(NbdkitCommand(both).status().code(), StatusCode::kInvalidArgument);
  NbdkitEndpoint bad;
  bad.listen = "localhost";
  bad.insecure = true;
  EXPECT_NE(NbdkitCommand(bad).status().message().find("give HOST:PORT"), std::string::npos);
  NbdkitEndpoint v6;
  v6.listen = "[::1]:10809";
  v6.insecure = true;
  auto args = NbdkitCommand(v6);
  ASSERT_TRUE(args.ok()) << args.status().message();
  EXPECT_TRUE(Has(*args, "::1") && Has(*args, "10809"));
}

TEST_F(NbdkitCommandTest, TcpNeedsCredentialsOrInsecure) {
  NbdkitEndpoint plain;
  plain.listen = "127.0.0.1:10809";
  auto refused = NbdkitCommand(plain);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("--insecure"), std::string::npos);
  NbdkitEndpoint psk = plain;
  psk.tls_psk = tmp_.Path("absent.psk");
  EXPECT_NE(NbdkitCommand(psk).status().message().find("cannot read it"), std::string::npos);
  std::ofstream(tmp_.Path("keys.psk")) << "alice:0123\n";
  psk.tls_psk = tmp_.Path("keys.psk");
  auto args = NbdkitCommand(psk);
  ASSERT_TRUE(args.ok()) << args.status().message();
  EXPECT_TRUE(Has(*args, "--tls=require") && Has(*args, "--tls-psk"));
  NbdkitEndpoint both = psk;
  both.tls_certificates = tmp_.path();
  EXPECT_EQ(NbdkitCommand(both).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(NbdkitCommandTest, AStaleSocketIsRemovedALiveOneRefused) {
  const std::string path = tmp_.Path("s.sock");
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  NbdkitEndpoint e;
  e.socket = path;
  EXPECT_EQ(NbdkitCommand(e).status().code(), StatusCode::kFailedPrecondition);
  ::close(fd);  // the server is gone; its socket file stays
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_TRUE(NbdkitCommand(e).ok());
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace ferry
