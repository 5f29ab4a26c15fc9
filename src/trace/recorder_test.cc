#include "trace/recorder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "trace/load.h"

namespace ferry {
namespace {

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()))).string();
}

TEST(TraceRecorderTest, WhatItRecordsLoadsAsHistoryAndTracesAreJoinedInOrder) {
  const std::string path = TempPath("ferry-record.log");
  std::filesystem::remove(path);
  auto rec = TraceRecorder::Create(path, "/dev/vol");
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  (*rec)->Record(IoOp::kRead, 4096, 8192);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  (*rec)->Record(IoOp::kWrite, 1 << 20, 4096);
  ASSERT_TRUE((*rec)->Close().ok());
  EXPECT_EQ((*rec)->records(), 2u);
  (*rec)->Record(IoOp::kRead, 0, 512);  // after Close: dropped
  EXPECT_EQ((*rec)->records(), 2u);

  HistoryOptions o;
  o.time_scale = 2.0;
  auto h = LoadHistory({path, path}, o);
  ASSERT_TRUE(h.ok()) << h.status().message();
  ASSERT_EQ(h->size(), 4u);
  EXPECT_EQ((*h)[0].op, IoOp::kRead);
  EXPECT_EQ((*h)[0].offset, 4096u);
  EXPECT_EQ((*h)[0].length, 8192u);
  EXPECT_EQ((*h)[0].time.count(), 0);
  EXPECT_EQ((*h)[1].op, IoOp::kWrite);
  EXPECT_GE((*h)[1].time, std::chrono::milliseconds(10));  // 5 ms or more, scaled by 2
  EXPECT_GT((*h)[2].time, (*h)[1].time);                    // the second trace follows the first
  EXPECT_EQ((*h)[3].time - (*h)[2].time, (*h)[1].time - (*h)[0].time);
  std::filesystem::remove(path);
}

TEST(TraceRecorderTest, AnExistingFileIsNeverOverwritten) {
  const std::string path = TempPath("ferry-record-exists.log");
  { std::ofstream(path) << "keep me\n"; }
  auto rec = TraceRecorder::Create(path, "x");
  ASSERT_FALSE(rec.ok());
  EXPECT_EQ(rec.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(rec.status().message().find("the file exists"), std::string::npos);
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "keep me");
  std::filesystem::remove(path);
}

TEST(TraceRecorderTest, AHistoryThatCannotBeReadNamesTheFile) {
  auto h = LoadHistory({TempPath("ferry-no-such-trace")}, HistoryOptions{});
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("ferry-no-such-trace"), std::string::npos);
}

}  // namespace
}  // namespace ferry
