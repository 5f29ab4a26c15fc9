#include "ferry/journal.h"

#include "common/test_temp_dir.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace ferry {
namespace {

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = tmp_.Path("j");
    id_ = {"/src.img", "/dst.img", 10ull << 20, 64 << 10};  // 160 granules
  }
  void Corrupt(uint64_t offset) {
    int fd = ::open(path_.c_str(), O_RDWR);
    char c;
    ASSERT_EQ(::pread(fd, &c, 1, offset), 1);
    c ^= 0x5a;
    ASSERT_EQ(::pwrite(fd, &c, 1, offset), 1);
    ::close(fd);
  }
  TestTempDir tmp_;
  std::string path_;
  JournalIdentity id_;
};

TEST_F(JournalTest, CreateThenReopenKeepsCommittedBits) {
  {
    auto j = Journal::Create(path_, id_);
    ASSERT_TRUE(j.ok()) << j.status().message();
    std::vector<uint64_t> p = {0b1011, 1ull << 63, 0};
    ASSERT_TRUE((*j)->Commit(p, JournalState::kCopying).ok());
  }
  auto j = Journal::Open(path_, id_);
  ASSERT_TRUE(j.ok()) << j.status().message();
  EXPECT_EQ((*j)->present()[0], 0b1011u);
  EXPECT_EQ((*j)->present()[1], 1ull << 63);
  EXPECT_EQ((*j)->generation(), 2u);
  auto info = Journal::Inspect(path_);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->present_granules, 4u);
  EXPECT_EQ(info->present_bytes, 4u * (64 << 10));
  EXPECT_TRUE(info->locked);  // `j` is still open
}

TEST_F(JournalTest, ForeignJournalIsRefusedNamingTheField) {
  ASSERT_TRUE(Journal::Create(path_, id_).ok());
  JournalIdentity other = id_;
  other.volume_size = 20ull << 20;
  auto j = Journal::Open(path_, other);
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.status().message().find("belongs to another migration"), std::string::npos);
  EXPECT_NE(j.status().message().find("source size"), std::string::npos);
  other = id_;
  other.granule_size = 128 << 10;
  EXPECT_NE(Journal::Open(path_, other).status().message().find("granule"), std::string::npos);
  other = id_;
  other.source = "/elsewhere.img";
  EXPECT_NE(Journal::Open(path_, other).status().message().find("source"), std::string::npos);
  other = id_;
  other.destination = "/elsewhere.img";
  EXPECT_NE(Journal::Open(path_, other).status().message().find("destination"), std::string::npos);
}

TEST_F(JournalTest, TornCommitFallsBackToTheOtherSlot) {
  {
    auto j = Journal::Create(path_, id_);
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE((*j)->Commit({0b1}, JournalState::kCopying).ok());   // gen 2, slot 0
    ASSERT_TRUE((*j)->Commit({0b11}, JournalState::kCopying).ok());  // gen 3, slot 1
  }
  uint64_t slot = std::filesystem::file_size(path_) / 2;
  Corrupt(slot + 4096);  // a torn write of the newest slot's bitmap
  auto j = Journal::Open(path_, id_);
  ASSERT_TRUE(j.ok()) << j.status().message();
  EXPECT_EQ((*j)->generation(), 2u);
  EXPECT_EQ((*j)->present()[0], 0b1u);
}

TEST_F(JournalTest, BothSlotsBadIsCorruptAndTheFileIsLeftAlone) {
  {
    auto j = Journal::Create(path_, id_);
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE((*j)->Commit({0b1}, JournalState::kCopying).ok());
  }
  uint64_t slot = std::filesystem::file_size(path_) / 2;
  Corrupt(20);
  Corrupt(slot + 20);
  auto before = std::filesystem::file_size(path_);
  auto j = Journal::Open(path_, id_);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(j.status().message().find("corrupt"), std::string::npos);
  EXPECT_EQ(std::filesystem::file_size(path_), before);
}

TEST_F(JournalTest, NotAJournalIsSaidSo) {
  std::ofstream(path_) << "hello, this is a text file\n";
  auto j = Journal::Open(path_, id_);
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.status().message().find("not a ferry journal"), std::string::npos);
}

TEST_F(JournalTest, TruncatedJournalIsCorrupt) {
  ASSERT_TRUE(Journal::Create(path_, id_).ok());
  std::filesystem::resize_file(path_, 4096 * 3);
  auto j = Journal::Open(path_, id_);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), StatusCode::kCorrupt);
}

TEST_F(JournalTest, SecondOpenWhileHeldIsRefused) {
  auto a = Journal::Create(path_, id_);
  ASSERT_TRUE(a.ok());
  auto b = Journal::Open(path_, id_);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("in use"), std::string::npos);
}

TEST_F(JournalTest, StateSurvivesReopen) {
  {
    auto j = Journal::Create(path_, id_);
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE((*j)->Commit(std::vector<uint64_t>(3, ~0ull), JournalState::kVerified).ok());
  }
  auto info = Journal::Inspect(path_);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->state, JournalState::kVerified);
  EXPECT_EQ(info->present_granules, 160u);
  EXPECT_EQ(info->present_bytes, 10u << 20);
  EXPECT_FALSE(info->locked);
}

TEST_F(JournalTest, StateOnlyCommitOfItsOwnBitmapKeepsTheBits) {
  auto j = Journal::Create(path_, id_);
  ASSERT_TRUE(j.ok());
  ASSERT_TRUE((*j)->Commit({0b101, 7}, JournalState::kCopied).ok());
  ASSERT_TRUE((*j)->Commit((*j)->present(), JournalState::kVerified).ok());
  EXPECT_EQ((*j)->present()[0], 0b101u);
  EXPECT_EQ((*j)->present()[1], 7u);
  EXPECT_EQ((*j)->state(), JournalState::kVerified);
}

}  // namespace
}  // namespace ferry
