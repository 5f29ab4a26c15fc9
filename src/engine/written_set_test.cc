// WrittenSet: what the application wrote, kept across a restart; a set that cannot be
// trusted says so.
#include "engine/written_set.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/test_temp_dir.h"

namespace ferry {
namespace {

constexpr uint64_t kG = 64 << 10;

TEST(WrittenSetTest, MarksGranulesAndSurvivesASaveAndLoad) {
  TestTempDir tmp;
  const std::string path = WrittenSet::PathFor(tmp.Path("j"));
  WrittenSet w(100 * kG + 512, kG);
  w.Load(path, /*had_progress=*/false);
  EXPECT_EQ(w.unknown_reason(), "");
  w.Mark(3 * kG + 10, 1);
  w.Mark(100 * kG, 512);  // the short last granule
  EXPECT_TRUE(w.Any(3 * kG, kG));
  EXPECT_FALSE(w.Any(4 * kG, kG));
  EXPECT_TRUE(w.Any(0, 4 * kG));
  ASSERT_TRUE(w.Save(path).ok());
  WrittenSet r(100 * kG + 512, kG);
  r.Load(path, /*had_progress=*/true);
  EXPECT_EQ(r.unknown_reason(), "");
  EXPECT_TRUE(r.Any(3 * kG, 1));
  EXPECT_TRUE(r.Any(100 * kG, 1));
  EXPECT_FALSE(r.Any(50 * kG, kG));
}

TEST(WrittenSetTest, AFreshMigrationSavesItsEmptySetAtTheFirstCommit) {
  TestTempDir tmp;
  const std::string path = WrittenSet::PathFor(tmp.Path("j"));
  WrittenSet w(10 * kG, kG);
  w.Load(path, false);
  ASSERT_TRUE(w.Save(path).ok());
  WrittenSet r(10 * kG, kG);
  r.Load(path, true);
  EXPECT_EQ(r.unknown_reason(), "");
}

TEST(WrittenSetTest, MissingDamagedOrForeignFilesLeaveTheSetUnknown) {
  TestTempDir tmp;
  const std::string path = WrittenSet::PathFor(tmp.Path("j"));
  WrittenSet missing(10 * kG, kG);
  missing.Load(path, /*had_progress=*/true);
  EXPECT_NE(missing.unknown_reason().find("no " + path), std::string::npos) << missing.unknown_reason();

  WrittenSet w(10 * kG, kG);
  w.Load(path, false);
  w.Mark(0, 1);
  ASSERT_TRUE(w.Save(path).ok());
  WrittenSet other_size(20 * kG, kG);
  other_size.Load(path, true);
  EXPECT_NE(other_size.unknown_reason().find("damaged or belongs to another volume"), std::string::npos);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(24);
    f.put('\x7f');  // a flipped bitmap byte: the checksum no longer matches
  }
  WrittenSet damaged(10 * kG, kG);
  damaged.Load(path, true);
  EXPECT_NE(damaged.unknown_reason().find("damaged"), std::string::npos);
}

}  // namespace
}  // namespace ferry
