#include "trace/summary.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/test_temp_dir.h"
#include "trace/test_read_all.h"

namespace ferry {
namespace {

const std::string kData = FERRY_TEST_DATA_DIR;

TEST(SummaryTest, CountsMixSpanFootprintSequentialityReaccess) {
  TestTempDir tmp;
  // Device 0: 0-4K, 4K-8K (sequential), 0-4K again (re-access). Device 1: one write.
  std::ofstream(tmp.Path("t.csv")) << "0,R,0,4096,0\n0,R,4096,4096,1000\n0,W,0,4096,2000\n1,W,65536,512,3000000\n";
  auto r = OpenAlibabaTrace(tmp.Path("t.csv"), {});
  ASSERT_TRUE(r.ok());
  auto s = Summarize(**r);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->records, 4u);
  EXPECT_EQ(s->reads, 2u);
  EXPECT_EQ(s->write_bytes, 4096u + 512);
  EXPECT_EQ(s->span, std::chrono::seconds(3));
  EXPECT_EQ(s->highest_offset, 65536u + 512);
  EXPECT_EQ(s->footprint, 8192u + 512);
  EXPECT_DOUBLE_EQ(s->sequential, 0.25);
  EXPECT_DOUBLE_EQ(s->reaccess, 1.0 - (8192.0 + 512) / (3 * 4096.0 + 512));

  auto r0 = OpenAlibabaTrace(tmp.Path("t.csv"), {});
  auto s0 = Summarize(**r0, 0u);
  ASSERT_TRUE(s0.ok());
  EXPECT_EQ(s0->records, 3u);
}

}  // namespace
}  // namespace ferry
