#include "trace/writer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/test_temp_dir.h"
#include "trace/test_read_all.h"

namespace ferry {
namespace {

const std::string kData = FERRY_TEST_DATA_DIR;

class WriterTest : public ::testing::TestWithParam<TraceFormat> {};

TEST_P(WriterTest, OutputReadsBackAsTheSameEvents) {
  TestTempDir tmp;
  auto in = ReadAllEvents(OpenMsrTrace(kData + "/msr_sample.csv", {}));
  ASSERT_TRUE(in.ok());
  {
    std::ofstream out(tmp.Path("out"));
    auto w = MakeTraceWriter(GetParam(), out, "/dev/vdb");
    ASSERT_TRUE(w.ok());
    for (const auto& e : *in) (*w)->Write(e);
    (*w)->Finish();
  }
  // Detected as the format written.
  auto format = DetectTraceFormat(tmp.Path("out"));
  ASSERT_TRUE(format.ok());
  EXPECT_EQ(*format, GetParam());
  auto back = ReadAllEvents(OpenTrace(tmp.Path("out"), TraceFormat::kAuto, {}));
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->size(), in->size());
  for (size_t i = 0; i < in->size(); ++i) {
    EXPECT_EQ((*back)[i].offset, (*in)[i].offset);
    EXPECT_EQ((*back)[i].length, (*in)[i].length);
    EXPECT_EQ((*back)[i].op, (*in)[i].op);
    EXPECT_EQ((*back)[i].time, (*in)[i].time);  // whole microseconds in the sample
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, WriterTest, ::testing::Values(TraceFormat::kFioIolog, TraceFormat::kMsr),
                         [](const auto& test) { return std::string(TraceFormatName(test.param)); });

TEST(WriterTest, FormatsFerryOnlyReadsAreRefused) {
  std::ostringstream out;
  auto w = MakeTraceWriter(TraceFormat::kVscsi, out, "x");
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("--to fio"), std::string::npos);
}

}  // namespace
}  // namespace ferry
