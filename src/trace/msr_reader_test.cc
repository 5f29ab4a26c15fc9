#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "common/test_temp_dir.h"
#include "ferry/trace.h"
#include "trace/test_read_all.h"

namespace ferry {
namespace {

using std::chrono::milliseconds;
const std::string kSample = std::string(FERRY_TEST_DATA_DIR) + "/msr_sample.csv";

std::vector<IoEvent> ReadAll(const std::string& path, TraceReadOptions o = {}) {
  auto ev = ReadAllEvents(OpenMsrTrace(path, o));
  EXPECT_TRUE(ev.ok()) << ev.status().message();
  return ev.ok() ? *ev : std::vector<IoEvent>{};
}

void Gzip(const std::string& from, const std::string& to, size_t keep = SIZE_MAX) {
  std::ifstream in(from, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  gzFile g = gzopen(to.c_str(), "wb");
  gzwrite(g, data.data(), static_cast<unsigned>(data.size()));
  gzclose(g);
  if (keep != SIZE_MAX) std::filesystem::resize_file(to, keep);
}

TEST(MsrReaderTest, ReadsTheSampleWithRelativeTimes) {
  auto ev = ReadAll(kSample);
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0].time.count(), 0);
  EXPECT_EQ(ev[0].op, IoOp::kRead);
  EXPECT_EQ(ev[0].offset, 383496192u);
  EXPECT_EQ(ev[0].length, 32768u);
  EXPECT_EQ(ev[0].device, 1u);
  EXPECT_EQ(ev[1].time, milliseconds(4));
  EXPECT_EQ(ev[1].op, IoOp::kWrite);
  EXPECT_EQ(ev[2].time, milliseconds(5));
  EXPECT_EQ(ev[2].device, 0u);
  EXPECT_EQ(ev[3].time, milliseconds(1000));
}

TEST(MsrReaderTest, GzipIsReadTransparently) {
  TestTempDir tmp;
  Gzip(kSample, tmp.Path("s.csv.gz"));
  auto plain = ReadAll(kSample), gz = ReadAll(tmp.Path("s.csv.gz"));
  ASSERT_EQ(gz.size(), plain.size());
  for (size_t i = 0; i < gz.size(); ++i) {
    EXPECT_EQ(gz[i].offset, plain[i].offset);
    EXPECT_EQ(gz[i].time, plain[i].time);
  }
}

TEST(MsrReaderTest, MalformedRecordsAreSkippedWithFileAndLine) {
  TestTempDir tmp;
  std::ofstream(tmp.Path("bad.csv")) << "128166372003061629,hm,1,Read,4096,512,0\n"
                                     << "128166372003061630,hm,1,Erase,4096,512,0\n"
                                     << "not,a,record\n"
                                     << "128166372003061631,hm,1,Write,-5,512,0\n"
                                     << "128166372003061632,hm,1,Write,8192,512,0\r\n";
  WarningCollector collector;
  TraceReadOptions o = collector.Options();
  const auto& warnings = collector.warnings;
  auto ev = ReadAll(tmp.Path("bad.csv"), o);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].offset, 8192u);  // CRLF handled
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_EQ(warnings[0], tmp.Path("bad.csv") + ":2: bad type 'Erase' (expected Read or Write)");
  EXPECT_EQ(warnings[1], tmp.Path("bad.csv") + ":3: expected 7 comma-separated fields, found 3");
  EXPECT_EQ(warnings[2], tmp.Path("bad.csv") + ":4: bad offset '-5'");
}

TEST(MsrReaderTest, StrictModeStopsAtTheFirstMalformedRecord) {
  TestTempDir tmp;
  std::ofstream(tmp.Path("bad.csv")) << "128166372003061629,hm,1,Read,4096,512,0\nxx\n";
  TraceReadOptions o;
  o.strict = true;
  auto r = OpenMsrTrace(tmp.Path("bad.csv"), o);
  ASSERT_TRUE(r.ok());
  IoEvent e;
  EXPECT_TRUE((*r)->Next(&e).value());
  auto bad = (*r)->Next(&e);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad.csv:2:"), std::string::npos);
}

TEST(MsrReaderTest, TruncatedGzipIsAnErrorNotAnEnd) {
  TestTempDir tmp;
  std::string big = tmp.Path("big.csv");
  {
    std::ofstream out(big);
    for (int i = 0; i < 20000; ++i) out << 128166372003061629ull + i << ",hm,1,Read," << i * 4096 << ",4096,0\n";
  }
  Gzip(big, tmp.Path("big.csv.gz"), 20000);
  auto r = OpenMsrTrace(tmp.Path("big.csv.gz"), {});
  ASSERT_TRUE(r.ok());
  IoEvent e;
  Result<bool> more = true;
  while (more.ok() && *more) more = (*r)->Next(&e);
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.status().code(), StatusCode::kCorrupt);
}

TEST(MsrReaderTest, MissingFileIsNotFound) {
  auto r = OpenMsrTrace("/nonexistent/trace.csv", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

TEST(MsrReaderTest, BinaryGarbageNeverCrashes) {
  TestTempDir tmp;
  {
    std::ofstream out(tmp.Path("junk"), std::ios::binary);
    uint32_t x = 12345;
    for (int i = 0; i < 100000; ++i) {
      x = x * 1103515245 + 12345;
      out.put(static_cast<char>(x >> 16));
    }
  }
  uint64_t warnings = 0;
  TraceReadOptions o;
  o.on_warning = [&](const std::string&) { ++warnings; };
  auto ev = ReadAll(tmp.Path("junk"), o);
  EXPECT_TRUE(ev.empty());
  EXPECT_GT(warnings, 0u);
}

}  // namespace
}  // namespace ferry
