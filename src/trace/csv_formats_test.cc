// SPC/UMass, Alibaba and Tencent CBS: units, op codes and devices, on samples written
// from the format descriptions (tests/data). MSR has its own tests.
#include <gtest/gtest.h>

#include "ferry/trace.h"
#include "trace/test_read_all.h"

namespace ferry {
namespace {

using std::chrono::microseconds;
using std::chrono::seconds;
const std::string kData = FERRY_TEST_DATA_DIR;

TEST(CsvFormatsTest, SpcSectorsBytesLettersFractionalSeconds) {
  auto ev = ReadAllEvents(OpenSpcTrace(kData + "/spc_sample.csv", {}));
  ASSERT_TRUE(ev.ok()) << ev.status().message();
  ASSERT_EQ(ev->size(), 3u);
  EXPECT_EQ((*ev)[0].op, IoOp::kWrite);
  EXPECT_EQ((*ev)[0].offset, 20941264ull * 512);
  EXPECT_EQ((*ev)[0].length, 8192u);
  EXPECT_EQ((*ev)[0].device, 0u);
  EXPECT_EQ((*ev)[1].op, IoOp::kRead);
  EXPECT_EQ((*ev)[1].device, 1u);
  EXPECT_EQ((*ev)[1].time, microseconds(2335));
  EXPECT_EQ((*ev)[2].op, IoOp::kRead);  // upper-case R accepted
  EXPECT_EQ((*ev)[2].time, microseconds(948294));
}

TEST(CsvFormatsTest, AlibabaBytesAndMicroseconds) {
  auto ev = ReadAllEvents(OpenAlibabaTrace(kData + "/alibaba_sample.csv", {}));
  ASSERT_TRUE(ev.ok()) << ev.status().message();
  ASSERT_EQ(ev->size(), 3u);
  EXPECT_EQ((*ev)[0].offset, 126703644672u);
  EXPECT_EQ((*ev)[0].device, 2u);
  EXPECT_EQ((*ev)[1].op, IoOp::kWrite);
  EXPECT_EQ((*ev)[1].length, 65536u);
  EXPECT_EQ((*ev)[1].time, microseconds(500));
  EXPECT_EQ((*ev)[2].device, 7u);
  EXPECT_EQ((*ev)[2].time, seconds(2));
}

TEST(CsvFormatsTest, TencentSectorsAndDigitOps) {
  auto ev = ReadAllEvents(OpenTencentTrace(kData + "/tencent_sample.csv", {}));
  ASSERT_TRUE(ev.ok()) << ev.status().message();
  ASSERT_EQ(ev->size(), 3u);
  EXPECT_EQ((*ev)[0].op, IoOp::kRead);
  EXPECT_EQ((*ev)[0].offset, 12345678ull * 512);
  EXPECT_EQ((*ev)[0].length, 8u * 512);
  EXPECT_EQ((*ev)[0].device, 1283u);
  EXPECT_EQ((*ev)[1].op, IoOp::kWrite);
  EXPECT_EQ((*ev)[1].time, seconds(1));
  EXPECT_EQ((*ev)[2].device, 77u);
  EXPECT_EQ((*ev)[2].time, seconds(60));
}

TEST(CsvFormatsTest, WrongOpCodeNamesTheExpectedOnes) {
  WarningCollector collector;
  TraceReadOptions o = collector.Options();
  const auto& warnings = collector.warnings;
  // A Tencent file read as Alibaba: its offsets stand where Alibaba's op codes are.
  auto ev = ReadAllEvents(OpenAlibabaTrace(kData + "/tencent_sample.csv", o));
  ASSERT_TRUE(ev.ok());
  EXPECT_TRUE(ev->empty());
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_NE(warnings[0].find("tencent_sample.csv:1: bad type '12345678' (expected R or W)"), std::string::npos);
}

}  // namespace
}  // namespace ferry
