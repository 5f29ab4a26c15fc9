#include <gtest/gtest.h>

#include <fstream>
#include <vector>

#include "common/test_temp_dir.h"
#include "ferry/trace.h"
#include "trace/test_read_all.h"

namespace ferry {
namespace {

const std::string kSample = std::string(FERRY_TEST_DATA_DIR) + "/blkparse_sample.txt";

Result<std::vector<IoEvent>> ReadAll(const std::string& path, TraceReadOptions o = {}) {
  return ReadAllEvents(OpenBlkparseTrace(path, o));
}

TEST(BlkparseReaderTest, ReadsQueuedReadsAndWritesOnly) {
  WarningCollector collector;
  TraceReadOptions o = collector.Options();
  const auto& warnings = collector.warnings;
  auto ev = ReadAll(kSample, o);
  ASSERT_TRUE(ev.ok()) << ev.status().message();
  ASSERT_EQ(ev->size(), 3u);  // Q R, Q WS, Q W; not A/G/P, the flush, the discard, summaries
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ((*ev)[0].op, IoOp::kRead);
  EXPECT_EQ((*ev)[0].offset, 1444645666ull * 512);
  EXPECT_EQ((*ev)[0].length, 256u * 512);
  EXPECT_EQ((*ev)[0].time.count(), 0);
  EXPECT_EQ((*ev)[0].device, (8u << 20) | 16);
  EXPECT_EQ((*ev)[1].op, IoOp::kWrite);
  EXPECT_EQ((*ev)[1].time.count(), 249998150);
  EXPECT_EQ((*ev)[2].device, (8u << 20) | 32);
  EXPECT_EQ((*ev)[2].time.count(), 1000000000);
}

TEST(BlkparseReaderTest, MalformedQueuedEventsWarnWithFileAndLine) {
  TestTempDir tmp;
  std::ofstream(tmp.Path("b.txt")) << "  8,16 0 1 0.0 1 Q R 100 + 8 [a]\n"
                                   << "  8,16 0 2 zero 1 Q R 100 + 8 [a]\n"
                                   << "  8,16 0 3 0.1 1 Q W 100 - 8 [a]\n"
                                   << "  8,16 0 4 0.2 1 Q W 100 + x [a]\n";
  WarningCollector collector;
  TraceReadOptions o = collector.Options();
  const auto& warnings = collector.warnings;
  auto ev = ReadAll(tmp.Path("b.txt"), o);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->size(), 1u);
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_EQ(warnings[0], tmp.Path("b.txt") + ":2: bad time 'zero'");
  EXPECT_EQ(warnings[1], tmp.Path("b.txt") + ":3: Q event without 'sector + count'");
  EXPECT_EQ(warnings[2], tmp.Path("b.txt") + ":4: bad sector count 'x'");
  o.strict = true;
  EXPECT_FALSE(ReadAll(tmp.Path("b.txt"), o).ok());
}

}  // namespace
}  // namespace ferry
