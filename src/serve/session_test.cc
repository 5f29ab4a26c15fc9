#include "serve/session.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "common/test_temp_dir.h"
#include "ferry/volume.h"

namespace ferry {
namespace {

ServeConfig Params(std::initializer_list<std::pair<const char*, std::string>> kv) {
  ServeConfig c;
  for (const auto& [k, v] : kv) {
    Status s = SetServeParam(&c, k, v);
    EXPECT_TRUE(s.ok()) << k << "=" << v << ": " << s.message();
  }
  return c;
}

TEST(ServeParamsTest, EachKindOfValueParses) {
  ServeConfig c = Params({{"source", "/a"}, {"destination", "/b"}, {"granule", "4K"}, {"rate", "10M"},
                          {"verify", "yes"}, {"exit-when-done", "1"}, {"threads", "3"}, {"latency-target", "500us"},
                          {"source-timeout", "2s"}, {"history", "t1"}, {"history", "t2"}, {"history-dev", "7"},
                          {"history-time-scale", "0.5"}, {"history-strict", "on"}});
  EXPECT_EQ(c.dest, "/b");
  EXPECT_EQ(c.granule, 4096u);
  EXPECT_EQ(c.rate, 10u << 20);
  EXPECT_TRUE(c.verify && c.exit_when_done);
  EXPECT_EQ(c.threads, 3);
  EXPECT_EQ(c.latency_target, std::chrono::microseconds(500));
  EXPECT_EQ(c.source_timeout, std::chrono::seconds(2));
  EXPECT_EQ(c.history, (std::vector<std::string>{"t1", "t2"}));
  EXPECT_EQ(c.history_options.device, 7u);
  EXPECT_EQ(c.history_options.time_scale, 0.5);
  EXPECT_TRUE(c.history_options.read.strict);
}

TEST(ServeParamsTest, BadValuesNameTheKey) {
  ServeConfig c;
  for (const auto& [k, v] : std::vector<std::pair<const char*, const char*>>{
           {"granule", "lots"}, {"verify", "maybe"}, {"threads", "3x"}, {"latency-target", "soon"},
           {"history-dev", "-1"}, {"history-time-scale", "0"}, {"history-format", "nope"}, {"colour", "red"}}) {
    Status s = SetServeParam(&c, k, v);
    ASSERT_FALSE(s.ok()) << k << "=" << v;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find(k), std::string::npos) << s.message();
  }
}

TEST(ServeParamsTest, CheckRefusesWhatDoesNotGoTogether) {
  ServeConfig missing = Params({{"source", "/a"}, {"dest", "/b"}});
  EXPECT_NE(CheckServeConfig(&missing).message().find("journal= are required"), std::string::npos);
  ServeConfig release = Params({{"source", "/a"}, {"dest", "/b"}, {"journal", "/j"}, {"release-source", "true"}});
  EXPECT_NE(CheckServeConfig(&release).message().find("needs verify=true"), std::string::npos);
  ServeConfig watch = Params({{"watch", "true"}, {"source", "/a"}, {"dest", "/b"}});
  EXPECT_NE(CheckServeConfig(&watch).message().find("serves the source itself"), std::string::npos);
  ServeConfig report = Params({{"source", "/a"}, {"dest", "/b"}, {"journal", "/j"}, {"report", "/nonexistent/r.html"}});
  EXPECT_NE(CheckServeConfig(&report).message().find("report=/nonexistent/r.html"), std::string::npos);
}

class ServeSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<char> data(1 << 20);
    for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>(i * 7 + 1);
    std::ofstream(tmp_.Path("src.img"), std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
  }
  ServeConfig Config(std::initializer_list<std::pair<const char*, std::string>> extra = {}) {
    ServeConfig c = Params({{"source", tmp_.Path("src.img")}, {"dest", tmp_.Path("dst.img")},
                            {"journal", tmp_.Path("j")}, {"report", tmp_.Path("r.html")}});
    for (const auto& [k, v] : extra) EXPECT_TRUE(SetServeParam(&c, k, v).ok());
    Status s = CheckServeConfig(&c);
    EXPECT_TRUE(s.ok()) << s.message();
    return c;
  }
  ServeHooks Hooks() {
    ServeHooks h;
    h.note = [this](const std::string& m) { notes_.push_back(m); };
    h.error = [this](const std::string& m) { errors_.push_back(m); };
    return h;
  }
  TestTempDir tmp_;
  std::vector<std::string> notes_, errors_;
};

TEST_F(ServeSessionTest, ServesMigratesAndSaysHowItWent) {
  auto s = ServeSession::Prepare(Config({{"verify", "true"}}), Hooks());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ((*s)->exported(), nullptr);
  ASSERT_TRUE((*s)->Start().ok());
  Export* e = (*s)->exported();
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->size(), 1u << 20);
  std::vector<std::byte> buf(4096);
  ASSERT_TRUE(e->Read(8192, buf).ok());
  EXPECT_EQ(buf[0], static_cast<std::byte>(8192 * 7 + 1));
  // The migration finishes and the verify runs; the status file says so.
  bool verified = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!verified && std::chrono::steady_clock::now() < deadline) {
    std::ifstream f(tmp_.Path("j.live"));
    const std::string text((std::istreambuf_iterator<char>(f)), {});
    verified = text.find("verified equal") != std::string::npos;
    if (!verified) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(verified) << "no verify in the status file after 30 s";
  (*s)->Stop();
  EXPECT_EQ((*s)->exported(), nullptr);
  EXPECT_TRUE(errors_.empty()) << errors_.front();
  ASSERT_FALSE(notes_.empty());
  EXPECT_NE(notes_.front().find("migrated"), std::string::npos) << notes_.front();
  EXPECT_TRUE(std::filesystem::exists(tmp_.Path("r.html")));
  (*s)->Stop();  // idempotent
}

TEST_F(ServeSessionTest, PrepareRefusesAJournalOfAnotherMigration) {
  {
    auto s = ServeSession::Prepare(Config(), Hooks());
    ASSERT_TRUE(s.ok()) << s.status().message();
  }
  ServeConfig other = Config({{"granule", "128K"}});
  auto s = ServeSession::Prepare(other, Hooks());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("granule"), std::string::npos) << s.status().message();
}

TEST_F(ServeSessionTest, PrepareNamesAMissingSource) {
  ServeConfig c = Config();
  c.source = tmp_.Path("absent.img");
  auto s = ServeSession::Prepare(c, Hooks());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("absent.img"), std::string::npos);
}

}  // namespace
}  // namespace ferry
