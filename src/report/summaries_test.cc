#include <gtest/gtest.h>

#include "report/summaries.h"

namespace ferry::report {
namespace {

TEST(ProgressTest, BarShowsPercentSizesRateAndEta) {
  Progress p;
  p.total_bytes = 1ull << 30;
  p.done_bytes = 1ull << 29;
  p.rate_bps = 100 << 20;
  p.eta_s = 5.2;
  std::string bar = FormatProgressBar(p, 10);
  EXPECT_EQ(bar, "[=====>    ]  50.0%  512 MiB / 1.00 GiB  100 MiB/s  ETA 0:05");
}

TEST(ProgressTest, CompleteBarIsFull) {
  Progress p;
  p.total_bytes = p.done_bytes = 4096;
  p.eta_s = 0;
  EXPECT_EQ(FormatProgressBar(p, 4).substr(0, 6), "[====]");
}

TEST(ProgressTest, JsonLineHasTheFields) {
  Progress p;
  p.total_bytes = 200;
  p.done_bytes = 50;
  auto j = ProgressJson(p, "copy");
  EXPECT_EQ(j["type"], "progress");
  EXPECT_EQ(j["phase"], "copy");
  EXPECT_EQ(j["done_bytes"], 50);
  EXPECT_DOUBLE_EQ(j["percent"].get<double>(), 25.0);
}

TEST(SummariesTest, AMigrationSaysWhatWasCopiedAndWhatItCost) {
  MigrateStats st;
  st.volume_size = 1ull << 30;
  st.bytes_copied = 600ull << 20;
  st.bytes_skipped = 424ull << 20;
  st.copy_ops = 300;
  st.seconds = 2;
  st.final_chunk_size = 2 << 20;
  const MigrateRunInfo run{"src.img", "dst.img", "none", 64 << 10};
  const std::string text = MigrateSummaryText(run, st);
  EXPECT_NE(text.find("migrated src.img to dst.img: 1.00 GiB in 2.00 s (512 MiB/s)"), std::string::npos) << text;
  EXPECT_NE(text.find("copied 600 MiB, skipped 424 MiB"), std::string::npos) << text;
  const nlohmann::json j = MigrateSummaryJson(run, st);
  EXPECT_EQ(j["bytes_copied"], 600ull << 20);
  EXPECT_TRUE(j["verify"].is_null());
}

TEST(SummariesTest, DifferingRangesAreListed) {
  VerifyResult v;
  v.equal = false;
  v.differing = {{4096, 4096}, {1 << 20, 65536}};
  const std::string text = VerifyDiffsText(v);
  EXPECT_NE(text.find("offset 4096 length 4096"), std::string::npos) << text;
  EXPECT_NE(text.find("offset 1048576 length 65536 (64.0 KiB at 1.00 MiB)"), std::string::npos) << text;
  EXPECT_EQ(VerifyJson(v)["differing"].size(), 2u);
}

TEST(SummariesTest, AnInterruptedMigrationSaysHowToResume) {
  MigrationStatus st;
  st.journal = "/j";
  st.info.identity.source = "src.img";
  st.info.identity.destination = "dst.img";
  st.info.identity.volume_size = 1 << 20;
  st.info.identity.granule_size = 64 << 10;
  st.info.granule_count = 16;
  st.info.present_granules = 4;
  st.info.present_bytes = 256 << 10;
  const std::string text = MigrationStatusText(st);
  EXPECT_NE(text.find("progress:     25.0% (4 of 16 granules present"), std::string::npos) << text;
  EXPECT_NE(text.find("interrupted: rerun the same ferry migrate command to resume"), std::string::npos) << text;
  EXPECT_EQ(nlohmann::json::parse(MigrationStatusJson(st))["activity"], "interrupted");
}

}  // namespace
}  // namespace ferry::report
