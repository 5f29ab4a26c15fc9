#include <gtest/gtest.h>

#include "cli/progress.h"

namespace ferry::cli {
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

}  // namespace
}  // namespace ferry::cli
