#include "ferry/units.h"

#include <gtest/gtest.h>

namespace ferry {
namespace {

TEST(ParseSizeTest, AcceptsBytesAndBinarySuffixes) {
  EXPECT_EQ(ParseSize("4096").value(), 4096u);
  EXPECT_EQ(ParseSize("64K").value(), 65536u);
  EXPECT_EQ(ParseSize("64k").value(), 65536u);
  EXPECT_EQ(ParseSize("64KiB").value(), 65536u);
  EXPECT_EQ(ParseSize("1M").value(), 1u << 20);
  EXPECT_EQ(ParseSize("1.5G").value(), 3ull << 29);
  EXPECT_EQ(ParseSize("2T").value(), 2ull << 40);
  EXPECT_EQ(ParseSize("512B").value(), 512u);
  EXPECT_EQ(ParseSize("18446744073709551615").value(), UINT64_MAX);
}

TEST(ParseSizeTest, RejectsGarbageWithTheFlagName) {
  for (const char* bad : {"", "K", "-1", "12X", "1.5", "1..2M", "99999999999999999999", "16E", "0.3K"}) {
    auto r = ParseSize(bad, "--granule");
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
      EXPECT_NE(r.status().message().find("--granule"), std::string::npos);
    }
  }
}

TEST(FormatTest, SizesRatesEtas) {
  EXPECT_EQ(FormatSize(0), "0 B");
  EXPECT_EQ(FormatSize(1023), "1023 B");
  EXPECT_EQ(FormatSize(65536), "64.0 KiB");
  EXPECT_EQ(FormatSize(1ull << 30), "1.00 GiB");
  EXPECT_EQ(FormatRate(2.0 * (1 << 20)), "2.00 MiB/s");
  EXPECT_EQ(FormatEta(7), "0:07");
  EXPECT_EQ(FormatEta(3723), "1:02:03");
  EXPECT_EQ(FormatEta(-1), "--:--");
}

}  // namespace

TEST(UnitsTest, ParsesDurationsWithUnits) {
  EXPECT_EQ(ParseDuration("2ms").value(), std::chrono::milliseconds(2));
  EXPECT_EQ(ParseDuration("100us").value(), std::chrono::microseconds(100));
  EXPECT_EQ(ParseDuration("1.5s").value(), std::chrono::milliseconds(1500));
  EXPECT_EQ(ParseDuration("3").value(), std::chrono::seconds(3));
  EXPECT_EQ(ParseDuration("5m").value(), std::chrono::minutes(5));
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("-1s").ok());
  EXPECT_FALSE(ParseDuration("2 parsecs").ok());
  EXPECT_FALSE(ParseDuration("1e300h").ok());
}

TEST(UnitsTest, ParsesSharesAsPercentOrFraction) {
  EXPECT_DOUBLE_EQ(ParseShare("25%").value(), 0.25);
  EXPECT_DOUBLE_EQ(ParseShare("0.5").value(), 0.5);
  EXPECT_FALSE(ParseShare("150%").ok());
  EXPECT_FALSE(ParseShare("half").ok());
}

}  // namespace ferry
