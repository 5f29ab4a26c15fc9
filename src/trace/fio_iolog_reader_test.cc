#include <gtest/gtest.h>

#include <fstream>

#include "common/test_temp_dir.h"
#include "ferry/trace.h"
#include "trace/test_read_all.h"

namespace ferry {
namespace {

const std::string kData = FERRY_TEST_DATA_DIR;

TEST(FioIologReaderTest, V3TimestampsAreMicroseconds) {
  auto ev = ReadAllEvents(OpenFioIologTrace(kData + "/fio_v3_sample.log", {}));
  ASSERT_TRUE(ev.ok()) << ev.status().message();
  ASSERT_EQ(ev->size(), 3u);  // two reads and a write; add/open/trim/close passed over
  EXPECT_EQ((*ev)[0].time, std::chrono::microseconds(192));
  EXPECT_EQ((*ev)[0].offset, 61440u);
  EXPECT_EQ((*ev)[1].op, IoOp::kWrite);
  EXPECT_EQ((*ev)[1].length, 8192u);
  EXPECT_EQ((*ev)[1].time, std::chrono::microseconds(50258));
  EXPECT_EQ((*ev)[0].device, 0u);
  EXPECT_EQ((*ev)[2].device, 1u);  // a second file
}

TEST(FioIologReaderTest, V2TimeComesFromWaits) {
  auto ev = ReadAllEvents(OpenFioIologTrace(kData + "/fio_v2_sample.log", {}));
  ASSERT_TRUE(ev.ok()) << ev.status().message();
  ASSERT_EQ(ev->size(), 2u);
  EXPECT_EQ((*ev)[0].time.count(), 0);
  EXPECT_EQ((*ev)[1].time, std::chrono::microseconds(1500));
}

TEST(FioIologReaderTest, MissingVersionLineIsRefusedEvenWhenNotStrict) {
  auto ev = ReadAllEvents(OpenFioIologTrace(kData + "/msr_sample.csv", {}));
  ASSERT_FALSE(ev.ok());
  EXPECT_NE(ev.status().message().find("msr_sample.csv:1: not a fio iolog"), std::string::npos);
}

TEST(FioIologReaderTest, BadLinesWarnWithFileAndLine) {
  TestTempDir tmp;
  std::ofstream(tmp.Path("l")) << "fio version 3 iolog\n5 /f read 0 4096\nx /f read 0 4096\n6 /f erase 0 1\n7 /f read\n";
  WarningCollector collector;
  TraceReadOptions o = collector.Options();
  const auto& warnings = collector.warnings;
  auto ev = ReadAllEvents(OpenFioIologTrace(tmp.Path("l"), o));
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->size(), 1u);
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_EQ(warnings[0], tmp.Path("l") + ":3: bad timestamp 'x'");
  EXPECT_EQ(warnings[1], tmp.Path("l") + ":4: bad action 'erase'");
  EXPECT_EQ(warnings[2], tmp.Path("l") + ":5: bad file action 'read'");
}

}  // namespace
}  // namespace ferry
