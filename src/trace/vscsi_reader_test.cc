#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <fstream>
#include <vector>

#include "common/test_temp_dir.h"
#include "ferry/trace.h"
#include "trace/test_read_all.h"

namespace ferry {
namespace {

// One record laid out as the format spec says (little-endian host).
std::string Record(uint16_t cmd, uint64_t lbn, uint32_t length, uint64_t ts_us, uint16_t version = 1) {
  unsigned char r[32] = {};
  uint32_t serial = 7, nsg = 1;
  uint16_t ver = static_cast<uint16_t>(version << 8);
  std::memcpy(r, &serial, 4);
  std::memcpy(r + 4, &length, 4);
  std::memcpy(r + 8, &nsg, 4);
  std::memcpy(r + 12, &cmd, 2);
  std::memcpy(r + 14, &ver, 2);
  std::memcpy(r + 16, &lbn, 8);
  std::memcpy(r + 24, &ts_us, 8);
  return std::string(reinterpret_cast<char*>(r), 32);
}

void Write(const std::string& path, const std::string& data, bool gz = false) {
  if (gz) {
    gzFile g = gzopen(path.c_str(), "wb");
    gzwrite(g, data.data(), static_cast<unsigned>(data.size()));
    gzclose(g);
  } else {
    std::ofstream(path, std::ios::binary) << data;
  }
}

Result<std::vector<IoEvent>> ReadAll(const std::string& path, TraceReadOptions o = {}) {
  return ReadAllEvents(OpenVscsiTrace(path, o));
}

const std::string kSample = Record(0x28, 100, 4096, 1000) + Record(0x2a, 200, 8192, 3000) +
                            Record(0x00, 0, 0, 4000) +  // TEST UNIT READY: not I/O
                            Record(0x88, 1ull << 33, 512, 5000);

TEST(VscsiReaderTest, ReadsReadsAndWritesInSectorsAndMicroseconds) {
  TestTempDir tmp;
  Write(tmp.Path("t.vscsi"), kSample);
  auto ev = ReadAll(tmp.Path("t.vscsi"));
  ASSERT_TRUE(ev.ok()) << ev.status().message();
  ASSERT_EQ(ev->size(), 3u);
  EXPECT_EQ((*ev)[0].op, IoOp::kRead);
  EXPECT_EQ((*ev)[0].offset, 100u * 512);
  EXPECT_EQ((*ev)[0].length, 4096u);
  EXPECT_EQ((*ev)[0].time.count(), 0);
  EXPECT_EQ((*ev)[1].op, IoOp::kWrite);
  EXPECT_EQ((*ev)[1].time, std::chrono::microseconds(2000));
  EXPECT_EQ((*ev)[2].offset, (1ull << 33) * 512);
  EXPECT_EQ((*ev)[2].time, std::chrono::microseconds(4000));
}

TEST(VscsiReaderTest, GzipIsReadTransparently) {
  TestTempDir tmp;
  Write(tmp.Path("t.vscsi.gz"), kSample, true);
  auto ev = ReadAll(tmp.Path("t.vscsi.gz"));
  ASSERT_TRUE(ev.ok()) << ev.status().message();
  EXPECT_EQ(ev->size(), 3u);
}

TEST(VscsiReaderTest, VersionTwoIsRefused) {
  TestTempDir tmp;
  Write(tmp.Path("v2"), Record(0x28, 1, 512, 1, 2));
  auto ev = ReadAll(tmp.Path("v2"));
  ASSERT_FALSE(ev.ok());
  EXPECT_NE(ev.status().message().find("VSCSI version 2 is not supported"), std::string::npos);
}

TEST(VscsiReaderTest, PartialTrailingRecordWarnsOrFailsWhenStrict) {
  TestTempDir tmp;
  Write(tmp.Path("p"), kSample + std::string(10, 'x'));
  WarningCollector collector;
  TraceReadOptions o = collector.Options();
  const auto& warnings = collector.warnings;
  auto ev = ReadAll(tmp.Path("p"), o);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->size(), 3u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("partial record of 10 bytes"), std::string::npos);
  o.strict = true;
  EXPECT_FALSE(ReadAll(tmp.Path("p"), o).ok());
}

TEST(VscsiReaderTest, ZeroLengthAndWrongVersionRecordsAreSkipped) {
  TestTempDir tmp;
  Write(tmp.Path("z"), Record(0x28, 1, 512, 1) + Record(0x28, 2, 0, 2) + Record(0x2a, 3, 512, 3, 9) +
                           Record(0x2a, 4, 512, 4));
  uint64_t warnings = 0;
  TraceReadOptions o;
  o.on_warning = [&](const std::string&) { ++warnings; };
  auto ev = ReadAll(tmp.Path("z"), o);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->size(), 2u);
  EXPECT_EQ(warnings, 2u);
}

}  // namespace
}  // namespace ferry
