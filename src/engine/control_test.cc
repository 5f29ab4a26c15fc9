// The control socket of a running `ferry serve`: each command reaches the migration and
// gets its reply line; bad commands and a socket nobody serves are said to be so.
#include "engine/control.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "common/test_temp_dir.h"
#include "ferry/live.h"
#include "ferry/volume.h"

namespace ferry {
namespace {

constexpr uint64_t kSize = 4 << 20;

class ControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MigrateOptions o;
    o.rate_limit = 64 << 10;  // slow: the migration is still running while the test talks to it
    auto src = NewMemoryVolume("src", kSize);
    const std::vector<std::byte> data(kSize, std::byte{0xab});  // not zero: there is something to copy
    ASSERT_TRUE(src->Write(0, data).ok());
    auto live = LiveMigration::Start(std::move(src), NewMemoryVolume("dst", kSize), nullptr, nullptr, o);
    ASSERT_TRUE(live.ok()) << live.status().message();
    live_ = std::move(live).value();
    auto server = ControlServer::Start(path_, *live_, [this] { aborted_ = true; }, [] { return std::string("{}"); });
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(server).value();
  }
  void TearDown() override {
    server_.reset();
    if (live_) {
      EXPECT_TRUE(live_->Stop().ok());
    }
  }
  std::string Send(const std::string& command) {
    auto r = SendControl(path_, command);
    EXPECT_TRUE(r.ok()) << command << ": " << r.status().message();
    return r.ok() ? *r : std::string();
  }

  TestTempDir tmp_;
  const std::string journal_ = tmp_.Path("j");
  const std::string path_ = ControlSocketPath(journal_);
  std::unique_ptr<LiveMigration> live_;
  std::unique_ptr<ControlServer> server_;
  std::atomic<bool> aborted_{false};
};

TEST_F(ControlTest, PauseAndResumeReachTheMigration) {
  EXPECT_EQ(Send("pause"), "ok paused");
  EXPECT_TRUE(live_->stats().paused);
  EXPECT_EQ(Send("resume"), "ok resumed");
  EXPECT_FALSE(live_->stats().paused);
}

TEST_F(ControlTest, RateTakesASizeAndZeroIsUnlimited) {
  EXPECT_EQ(Send("rate 1M"), "ok rate 1.00 MiB/s");
  EXPECT_EQ(Send("rate 0"), "ok rate unlimited");
  EXPECT_EQ(Send("rate fast").rfind("error ", 0), 0u);
}

TEST_F(ControlTest, AbortAndStatusCallTheirHandlers) {
  EXPECT_EQ(Send("status"), "ok {}");
  EXPECT_FALSE(aborted_);
  EXPECT_EQ(Send("abort"), "ok aborting");
  EXPECT_TRUE(aborted_);
}

TEST_F(ControlTest, AnUnknownCommandIsAnErrorThatListsTheKnownOnes) {
  const std::string reply = Send("faster");
  EXPECT_EQ(reply.rfind("error unknown command 'faster'", 0), 0u) << reply;
  EXPECT_NE(reply.find("pause, resume, rate SIZE, abort or status"), std::string::npos) << reply;
}

TEST_F(ControlTest, NobodyListeningIsNotFoundAndTheSocketGoesWithTheServer) {
  server_.reset();
  auto r = SendControl(path_, "pause");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().message();
  EXPECT_FALSE(live_->stats().paused);
}

TEST_F(ControlTest, TheClientChecksItsArgumentsAndGivesTheReplysDetail) {
  auto paused = Control(journal_, "pause");
  ASSERT_TRUE(paused.ok()) << paused.status().message();
  EXPECT_EQ(*paused, "paused");
  EXPECT_TRUE(live_->stats().paused);
  EXPECT_EQ(Control(journal_, "status").value(), "{}");
  EXPECT_EQ(Control(journal_, "rate", "2M").value(), "rate 2.00 MiB/s");
  // Usage errors are found before anything is sent.
  for (const auto& [command, arg] : {std::pair<std::string, std::string>{"rate", ""}, {"rate", "fast"}, {"pause", "now"}}) {
    auto r = Control(journal_, command, arg);
    ASSERT_FALSE(r.ok()) << command << " " << arg;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().message();
  }
  EXPECT_EQ(Control(journal_, "rate", "").status().message(),
            "rate needs a SIZE per second, e.g. 'ferry control J rate 50M' (0: unlimited)");
  // The serve's own refusal is a failure, with its message.
  auto unknown = Control(journal_, "faster");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(unknown.status().message().rfind("unknown command 'faster'", 0), 0u) << unknown.status().message();
  server_.reset();
  EXPECT_EQ(Control(journal_, "resume").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace ferry
