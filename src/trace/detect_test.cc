#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>

#include "common/test_temp_dir.h"
#include "ferry/trace.h"
#include "trace/test_read_all.h"

namespace ferry {
namespace {

const std::string kData = FERRY_TEST_DATA_DIR;

TEST(DetectTest, EverySampleIsRecognised) {
  struct Case {
    const char* file;
    TraceFormat want;
  } cases[] = {{"msr_sample.csv", TraceFormat::kMsr},         {"spc_sample.csv", TraceFormat::kSpc},
               {"alibaba_sample.csv", TraceFormat::kAlibaba}, {"tencent_sample.csv", TraceFormat::kTencent},
               {"blkparse_sample.txt", TraceFormat::kBlkparse}, {"fio_v3_sample.log", TraceFormat::kFioIolog},
               {"fio_v2_sample.log", TraceFormat::kFioIolog}};
  for (const auto& c : cases) {
    auto f = DetectTraceFormat(kData + "/" + c.file);
    ASSERT_TRUE(f.ok()) << c.file << ": " << f.status().message();
    EXPECT_EQ(*f, c.want) << c.file;
    auto ev = ReadAllEvents(OpenTrace(kData + "/" + c.file, TraceFormat::kAuto, {}));
    ASSERT_TRUE(ev.ok()) << c.file;
    EXPECT_FALSE(ev->empty()) << c.file;
  }
}

TEST(DetectTest, GzipAndVscsiAreRecognised) {
  TestTempDir tmp;
  unsigned char rec[32] = {};
  rec[12] = 0x28;  // READ(10)
  rec[15] = 1;     // version 1 in the high byte
  rec[4] = 0x10;   // 4096 bytes
  gzFile g = gzopen(tmp.Path("t.vscsi.gz").c_str(), "wb");
  gzwrite(g, rec, sizeof rec);
  gzclose(g);
  auto f = DetectTraceFormat(tmp.Path("t.vscsi.gz"));
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(*f, TraceFormat::kVscsi);
}

TEST(DetectTest, UnknownContentAsksForFormat) {
  TestTempDir tmp;
  std::ofstream(tmp.Path("x")) << "hello world\n";
  auto f = DetectTraceFormat(tmp.Path("x"));
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("give --format"), std::string::npos);
  std::ofstream(tmp.Path("empty"));
  EXPECT_NE(DetectTraceFormat(tmp.Path("empty")).status().message().find("is empty"), std::string::npos);
  EXPECT_EQ(DetectTraceFormat(tmp.Path("missing")).status().code(), StatusCode::kNotFound);
}

TEST(DetectTest, FormatNamesRoundTrip) {
  for (const char* n : {"auto", "msr", "spc", "alibaba", "tencent", "blkparse", "vscsi", "fio"}) {
    auto f = ParseTraceFormat(n);
    ASSERT_TRUE(f.ok());
    EXPECT_STREQ(TraceFormatName(*f), n);
  }
  EXPECT_FALSE(ParseTraceFormat("csv").ok());
}

}  // namespace
}  // namespace ferry
