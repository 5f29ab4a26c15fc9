// The live status file: what `ferry serve` writes every second is what `ferry status`
// reads back, and a file that is missing, not JSON, or not ferry's is said to be so.
#include "engine/live_status.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/test_temp_dir.h"
#include "ferry/watch.h"

namespace ferry {
namespace {

LiveStats SomeStats() {
  LiveStats st;
  st.volume_size = 1 << 30;
  st.present_bytes = 1 << 28;
  st.bytes_copied = 123456;
  st.reads = 1000;
  st.read_stalls = 70;
  st.read_stalls_first_touch = 50;
  st.read_stalls_seen = 20;
  st.prevented_stalls = 9;
  st.writes = 300;
  st.write_stalls = 4;
  st.source.outages = 2;
  st.source.down_seconds = 3.5;
  st.link.base_latency_ms = 2.25;
  st.link.budget = 4 << 20;
  st.link.app_active = true;
  st.precision = 0.75;
  st.paused = true;
  st.paused_reason = "the operator";
  st.conclusion = "verify: equal";
  st.read_miss_p99_us = 3100;
  st.write_wait_p99_us = 7200;
  st.last_error = "pread: offset=0: Input/output error";
  return st;
}

TEST(LiveStatusTest, WhatServeWritesStatusReadsBack) {
  TestTempDir tmp;
  const std::string path = tmp.Path("j.live");
  const LiveStats st = SomeStats();
  ASSERT_TRUE(WriteLiveStatus(path, st, "ensemble", "adaptive", /*running=*/true).ok());
  auto j = ReadLiveStatus(path);
  ASSERT_TRUE(j.ok()) << j.status().message();
  auto r = LiveStatusOf(*j);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->running);
  EXPECT_EQ(r->predictor, "ensemble");
  EXPECT_EQ(r->policy, "adaptive");
  EXPECT_DOUBLE_EQ(PercentPresent(r->stats), 25.0);
  const LiveStats& back = r->stats;
  EXPECT_EQ(back.volume_size, st.volume_size);
  EXPECT_EQ(back.present_bytes, st.present_bytes);
  EXPECT_EQ(back.bytes_copied, st.bytes_copied);
  EXPECT_EQ(back.read_stalls_first_touch + back.read_stalls_seen, back.read_stalls);
  EXPECT_EQ(back.prevented_stalls, 9u);
  EXPECT_EQ(back.write_stalls, 4u);
  EXPECT_EQ(back.source.outages, 2u);
  EXPECT_DOUBLE_EQ(back.source.down_seconds, 3.5);
  EXPECT_DOUBLE_EQ(back.link.base_latency_ms, 2.25);
  EXPECT_EQ(back.link.budget, 4u << 20);
  EXPECT_TRUE(back.link.app_active);
  EXPECT_DOUBLE_EQ(back.precision, 0.75);
  EXPECT_TRUE(back.paused);
  EXPECT_EQ(back.paused_reason, "the operator");
  EXPECT_EQ(back.conclusion, "verify: equal");
  EXPECT_DOUBLE_EQ(back.read_miss_p99_us, 3100);
  EXPECT_DOUBLE_EQ(back.write_wait_p99_us, 7200);
  EXPECT_EQ(back.last_error, st.last_error);
}

TEST(LiveStatusTest, AMissingFieldKeepsItsDefault) {
  auto r = LiveStatusOf(nlohmann::json{{"running", true}, {"reads", 5}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stats.reads, 5u);
  EXPECT_EQ(r->stats.writes, 0u);
  EXPECT_EQ(r->predictor, "none");
}

TEST(LiveStatusTest, MissingGarbledAndForeignFilesAreSaidToBe) {
  TestTempDir tmp;
  EXPECT_EQ(ReadLiveStatus(tmp.Path("none.live")).status().code(), StatusCode::kNotFound);
  std::ofstream(tmp.Path("garbage.live")) << "{not json";
  EXPECT_EQ(ReadLiveStatus(tmp.Path("garbage.live")).status().code(), StatusCode::kCorrupt);
  auto foreign = LiveStatusOf(nlohmann::json{{"reads", "many"}});
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(foreign.status().message().find("not what ferry writes"), std::string::npos);
}

TEST(LiveStatusTest, TheSummarySaysWhenTheDestinationBecameCompleteNotHowLongItWasServed) {
  LiveStats st = SomeStats();
  st.seconds = 37.2;
  EXPECT_NE(LiveSummary(st, "j").find("ferry: stopped at 256 MiB of 1.00 GiB (25.0%) in 37.2 s; copied"),
            std::string::npos)
      << LiveSummary(st, "j");
  st.present_bytes = st.volume_size;
  st.complete = true;
  st.complete_seconds = 19.8;
  EXPECT_NE(LiveSummary(st, "j").find("ferry: migrated 1.00 GiB of 1.00 GiB (100.0%) in 19.8 s (served for 37.2 s); "),
            std::string::npos)
      << LiveSummary(st, "j");
  auto back = LiveStatusOf(LiveStatusJson(st, "none", "adaptive", false));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->stats.complete_seconds, 19.8);
}

TEST(WatchStatusTest, WhatWatchWritesStatusReadsBackAndShows) {
  TestTempDir tmp;
  WatchStats st;
  st.source = "/srv/vol.img";
  st.volume_size = 1 << 30;
  st.granule_size = 64 << 10;
  st.seconds = 12;
  st.reads = 900;
  st.writes = 300;
  st.read_bytes = 900 << 12;
  st.touched_granules = 16;
  st.recorded = 1200;
  st.hottest = {{0, 65536, 40}, {1 << 20, 65536, 7}};
  ASSERT_TRUE(WriteFileAtomically(tmp.Path("w.json"), WatchStatusJson(st, true), "the status file").ok());
  auto r = ReadWatchStatus(tmp.Path("w.json"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->running);
  EXPECT_EQ(r->stats.source, st.source);
  EXPECT_EQ(r->stats.reads, 900u);
  EXPECT_EQ(r->stats.touched_granules, 16u);
  ASSERT_EQ(r->stats.hottest.size(), 2u);
  EXPECT_EQ(r->stats.hottest[1].accesses, 7u);
  const std::string text = WatchStatusText(*r);
  EXPECT_NE(text.find("requests:     900 reads"), std::string::npos) << text;
  EXPECT_NE(text.find("footprint:    1.00 MiB touched of 1.00 GiB"), std::string::npos) << text;
  EXPECT_NE(text.find("hottest:      0 B (40x) 1.00 MiB (7x)"), std::string::npos) << text;
}

TEST(WatchStatusTest, OtherFilesAreNotAWatchAndWrongTypesAreCorrupt) {
  TestTempDir tmp;
  EXPECT_EQ(ReadWatchStatus(tmp.Path("none.json")).status().code(), StatusCode::kNotFound);
  std::ofstream(tmp.Path("journal")) << "FERRYJNL binary";
  EXPECT_EQ(ReadWatchStatus(tmp.Path("journal")).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(WriteLiveStatus(tmp.Path("j.live"), SomeStats(), "none", "adaptive", true).ok());
  EXPECT_EQ(ReadWatchStatus(tmp.Path("j.live")).status().code(), StatusCode::kNotFound);
  std::ofstream(tmp.Path("bad.json")) << R"({"watch": true, "reads": "many"})";
  EXPECT_EQ(ReadWatchStatus(tmp.Path("bad.json")).status().code(), StatusCode::kCorrupt);
}

}  // namespace
}  // namespace ferry
