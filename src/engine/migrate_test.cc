// Migrate: copies, skips zeroes, retries, resumes; and the data-safety invariants of
// DESIGN.md that the bulk copy can break (1, 5, 6, 7), each attacked directly.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <thread>
#include <atomic>

#include "common/test_sync_point.h"
#include "common/test_temp_dir.h"
#include "ferry/engine.h"
#include "predict/predictor.h"
#include "volume/async_volume.h"
#include "volume/fault_volume.h"
#include "volume/test_read_volume.h"

namespace ferry {
namespace {

constexpr uint64_t kG = 64 << 10;
constexpr uint64_t kSize = 8 << 20;  // 128 granules

// Random data with zero granules at every 4th granule and a zero tail.
std::unique_ptr<Volume> MakeSource(uint64_t size = kSize, uint32_t seed = 1) {
  auto v = NewMemoryVolume("src", size);
  std::mt19937_64 rng(seed);
  std::vector<std::byte> buf(kG);
  for (uint64_t off = 0; off + kG <= size - 4 * kG; off += kG) {
    if ((off / kG) % 4 == 3) continue;
    for (auto& b : buf) b = std::byte(rng());
    EXPECT_TRUE(v->Write(off, buf).ok());
  }
  return v;
}

MigrateOptions Fast() {
  MigrateOptions o;
  o.retry_backoff = std::chrono::milliseconds(1);
  o.commit_interval = std::chrono::milliseconds(5);
  return o;
}

class MigrateTest : public ::testing::Test {
 protected:
  JournalIdentity Id(uint64_t size = kSize) { return {"src", "dst", size, kG}; }
  TestTempDir tmp_;
  std::string jpath_ = tmp_.Path("journal");
};

TEST_F(MigrateTest, CopiesEverythingAndSkipsZeroGranules) {
  auto src = MakeSource();
  auto dst = NewMemoryVolume("dst", kSize);
  auto stats = Migrate(*src, *dst, nullptr, Fast());
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_EQ(ReadAll(*dst), ReadAll(*src));
  uint64_t zero_granules = 124 / 4 + 4;  // every 4th of the first 124, and the 4-granule tail
  EXPECT_EQ(stats->bytes_skipped, zero_granules * kG);
  EXPECT_EQ(stats->bytes_copied, kSize - zero_granules * kG);
}

// The thread that runs Migrate() only reports progress (and commits, with a journal):
// it sleeps between reports. Without a journal its commit time once stayed in the past
// and it spun for the whole copy, a core of a 2-core machine (docs/benchmarks.md).
// Counted, not timed: each of its wakes is a progress report (the wait is one report
// interval long), a worker ending (one each) or the last look; a spin wakes thousands of
// times per report. The rate makes the copy span several reports on any machine.
TEST_F(MigrateTest, TheCallingThreadWakesOnlyToReport) {
  auto src = MakeSource();
  auto dst = NewMemoryVolume("dst", kSize);
  MigrateOptions o = Fast();  // a commit due every 5 ms, were there a journal
  o.rate_limit = 16 << 20;    // about 6 MiB to copy: a third of a second
  o.progress_interval = std::chrono::milliseconds(20);
  std::atomic<int> reports{0};
  o.on_progress = [&](const Progress&) { ++reports; };
  SyncPointCounter points;
  auto stats = Migrate(*src, *dst, nullptr, o);
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  const int wakes = points.Count("Migration::Run:woke");
  ASSERT_GE(wakes, 2) << "the copy was too short to tell";
  // A spurious wake-up of the condition variable is allowed for, a few of them.
  EXPECT_LE(wakes, reports + o.threads + 1 + 3) << reports << " progress reports";
  EXPECT_EQ(ReadAll(*dst), ReadAll(*src));
}

// The policy rules (ferry/policy.h) hold in the engine too: what the CLI and the plugin
// refuse, the engine refuses, before anything is copied.
TEST_F(MigrateTest, APolicyThatTakesNoPredictionsRefusesAPredictor) {
  auto src = MakeSource();
  auto dst = NewMemoryVolume("dst", kSize);
  auto stride = MakePredictor("stride");
  ASSERT_TRUE(stride.ok());
  MigrateOptions o = Fast();
  o.policy = Policy::kDmClone;
  o.predictor = stride->get();
  auto r = Migrate(*src, *dst, nullptr, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("policy dmclone takes no predictions"), std::string::npos);
  o.policy = Policy::kClairvoyant;
  o.predictor = nullptr;
  EXPECT_FALSE(Migrate(*src, *dst, nullptr, o).ok());
  std::vector<std::byte> buf(kSize);
  ASSERT_TRUE(dst->Read(0, buf).ok());
  EXPECT_EQ(std::count(buf.begin(), buf.end(), std::byte{0}), static_cast<ptrdiff_t>(kSize));  // nothing copied
}

// --rate holds every copy after the first until the bytes before it are paid for. At
// 1 KiB/s the first copy pays for hours, so once both workers wait for the rate no
// second copy may start, however slow the machine; and a cancel ends those waits at
// once rather than when they are paid (it once waited them out).
TEST_F(MigrateTest, TheRateHoldsTheNextCopyUntilTheLastIsPaidFor) {
  auto mem = MakeSource();
  FaultVolume src(mem.get());
  auto dst = NewMemoryVolume("dst", kSize);
  MigrateOptions o = Fast();
  o.rate_limit = 1 << 10;
  o.threads = 2;
  o.progress_interval = std::chrono::milliseconds(10);
  std::atomic<bool> cancel{false};
  o.cancel = &cancel;
  SyncPointCounter points;
  Result<MigrateStats> stats = Internal("not run");
  std::thread run([&] { stats = Migrate(src, *dst, nullptr, o); });
  const bool waited = points.WaitFor("Migration::Worker:waits-for-rate", o.threads);
  const uint64_t reads = src.reads();
  cancel = true;
  run.join();
  ASSERT_TRUE(waited) << "the workers never waited for the rate";
  EXPECT_EQ(reads, 1u) << "copies started before the first was paid for";
  EXPECT_EQ(src.reads(), 1u);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), StatusCode::kCancelled) << stats.status().message();
}

// A cancel (Ctrl-C) during a long history stops its learning: the rest is not observed,
// nothing is trained, and the migration ends cancelled (a 300,000-access history with
// an LSTM held `ferry migrate` 62 s after SIGTERM).
TEST_F(MigrateTest, ACancelStopsTheHistorysLearning) {
  struct Counting : Predictor {
    const char* name() const override { return "counting"; }
    void Observe(uint64_t, uint64_t, IoOp, std::vector<Prediction>*) override { ++observed; }
    void Train() override { trained = true; }
    uint64_t observed = 0;
    bool trained = false;
  } counting;
  auto src = MakeSource();
  auto dst = NewMemoryVolume("dst", kSize);
  std::vector<IoEvent> history(100000);
  for (size_t i = 0; i < history.size(); ++i) {
    history[i].offset = (i % 128) * (64 << 10);
    history[i].length = 4096;
  }
  MigrateOptions o = Fast();
  o.history = &history;
  o.predictor = &counting;
  const std::atomic<bool> cancel{true};
  o.cancel = &cancel;
  auto stats = Migrate(*src, *dst, nullptr, o);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), StatusCode::kCancelled) << stats.status().message();
  EXPECT_LT(counting.observed, 5000u) << "the whole history was learnt after the cancel";
  EXPECT_FALSE(counting.trained);
}

TEST_F(MigrateTest, OverwritesStaleDestinationZeroesWithZeroes) {
  // A zero block of the source must become zero on a destination holding old data.
  auto src = MakeSource();
  auto dst = NewMemoryVolume("dst", kSize);
  std::vector<std::byte> junk(kSize, std::byte{0xee});
  ASSERT_TRUE(dst->Write(0, junk).ok());
  ASSERT_TRUE(Migrate(*src, *dst, nullptr, Fast()).ok());
  EXPECT_EQ(ReadAll(*dst), ReadAll(*src));
}

TEST_F(MigrateTest, VolumeSizeNotAMultipleOfTheGranule) {
  uint64_t size = kSize + 12345;
  auto src = MakeSource(size);
  std::vector<std::byte> tail(12345, std::byte{0x42});
  ASSERT_TRUE(src->Write(kSize, tail).ok());
  auto dst = NewMemoryVolume("dst", size);
  ASSERT_TRUE(Migrate(*src, *dst, nullptr, Fast()).ok());
  EXPECT_EQ(ReadAll(*dst), ReadAll(*src));
}

TEST_F(MigrateTest, Invariant1SourceIsNeverWritten) {
  auto mem = MakeSource();
  FaultVolume src(mem.get());
  auto dst = NewMemoryVolume("dst", kSize);
  auto j = Journal::Create(jpath_, Id());
  ASSERT_TRUE(j.ok());
  ASSERT_TRUE(Migrate(src, *dst, j->get(), Fast()).ok());
  ASSERT_TRUE(Verify(src, *dst, VerifyOptions{}).ok());
  EXPECT_GT(src.reads(), 0u);
  EXPECT_EQ(src.mutations(), 0u);
  EXPECT_EQ(src.flushes(), 0u);
}

TEST_F(MigrateTest, TransientReadErrorsAreRetried) {
  auto mem = MakeSource();
  FaultVolume src(mem.get());
  src.FailRange(false, 3 * kG, 1, IoError("injected EIO"), 2);
  src.FailRange(false, 90 * kG, 1, IoError("injected EIO"), 1);
  auto dst = NewMemoryVolume("dst", kSize);
  MigrateOptions o = Fast();
  o.min_chunk = o.max_chunk = kG;  // many chunks in flight while others retry
  auto stats = Migrate(src, *dst, nullptr, o);
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_EQ(stats->retries, 3u);
  // Retried chunks are counted once, and nobody else's bytes are lost.
  EXPECT_EQ(stats->bytes_copied + stats->bytes_skipped, kSize);
  EXPECT_EQ(ReadAll(*dst), ReadAll(*mem));
}

TEST_F(MigrateTest, OneWorkerKeepsManyCopiesInFlightOnAnAsyncSource) {
  // The copier sends source reads asynchronously: with one worker, the reads in flight
  // are the link controller's choice (up to --requests), answered out of order.
  auto mem = MakeSource();
  AsyncVolume src(mem.get(), std::chrono::microseconds(200));
  auto dst = NewMemoryVolume("dst", kSize);
  MigrateOptions o = Fast();
  o.threads = 1;
  o.min_chunk = o.max_chunk = kG;
  o.max_in_flight = 16;
  auto stats = Migrate(src, *dst, nullptr, o);
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_GE(src.max_outstanding(), 8u);
  EXPECT_LE(src.max_outstanding(), 16u);
  EXPECT_EQ(stats->bytes_copied + stats->bytes_skipped, kSize);
  EXPECT_EQ(ReadAll(*dst), ReadAll(*mem));
}

TEST_F(MigrateTest, AsyncReadErrorsAreRetriedAndPersistentOnesStopTheCopy) {
  auto mem = MakeSource();
  FaultVolume faulty(mem.get());
  faulty.FailRange(false, 3 * kG, 1, IoError("injected EIO"), 2);
  faulty.FailRange(false, 90 * kG, 1, IoError("injected EIO"), 1);
  MigrateOptions o = Fast();
  o.threads = 2;
  o.min_chunk = o.max_chunk = kG;
  {
    AsyncVolume src(&faulty, std::chrono::microseconds(50));
    auto dst = NewMemoryVolume("dst", kSize);
    auto stats = Migrate(src, *dst, nullptr, o);
    ASSERT_TRUE(stats.ok()) << stats.status().message();
    EXPECT_EQ(stats->retries, 3u);
    EXPECT_EQ(stats->bytes_copied + stats->bytes_skipped, kSize);
    EXPECT_EQ(ReadAll(*dst), ReadAll(*mem));
  }
  faulty.FailRange(false, 100 * kG, 1, IoError("injected EIO"));
  o.max_retries = 2;
  AsyncVolume src(&faulty, std::chrono::microseconds(50));
  auto dst = NewMemoryVolume("dst", kSize);
  auto stats = Migrate(src, *dst, nullptr, o);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("giving up after 3 attempts"), std::string::npos)
      << stats.status().message();
}

TEST_F(MigrateTest, DestinationWritesAreAsynchronousAndTheirErrorsRetriedOrFatal) {
  // One worker keeps many destination writes in flight (Volume::WriteAsync), answered
  // out of order; a failed write is retried as a failed read is, and one that keeps
  // failing stops the copy with the destination's error.
  auto mem = MakeSource();
  MigrateOptions o = Fast();
  o.threads = 1;
  o.min_chunk = o.max_chunk = kG;
  o.max_in_flight = 16;
  {
    auto base = NewMemoryVolume("dst", kSize);
    FaultVolume faulty(base.get());
    faulty.FailRange(true, 7 * kG, 1, IoError("injected EIO"), 2);
    AsyncVolume src(mem.get(), std::chrono::microseconds(50));
    AsyncVolume dst(&faulty, std::chrono::microseconds(200));
    auto stats = Migrate(src, dst, nullptr, o);
    ASSERT_TRUE(stats.ok()) << stats.status().message();
    EXPECT_GE(dst.max_outstanding(), 4u);  // a synchronous landing would hold one
    EXPECT_EQ(stats->retries, 2u);
    EXPECT_EQ(stats->bytes_copied + stats->bytes_skipped, kSize);
    EXPECT_EQ(ReadAll(*base), ReadAll(*mem));
  }
  auto base = NewMemoryVolume("dst", kSize);
  FaultVolume faulty(base.get());
  faulty.FailRange(true, 41 * kG, 1, Status(StatusCode::kNoSpace, "dst: No space left on device"));
  AsyncVolume dst(&faulty, std::chrono::microseconds(50));
  auto stats = Migrate(*mem, dst, nullptr, o);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("No space left"), std::string::npos) << stats.status().message();
}

TEST_F(MigrateTest, PersistentErrorStopsThenRerunResumesWithoutRecopying) {
  auto mem = MakeSource();
  FaultVolume src(mem.get());
  src.FailRange(false, 100 * kG, 1, IoError("injected EIO"));
  auto dst = NewMemoryVolume("dst", kSize);
  MigrateOptions o = Fast();
  o.threads = 1;
  o.max_retries = 2;
  {
    auto j = Journal::Create(jpath_, Id());
    ASSERT_TRUE(j.ok());
    auto stats = Migrate(src, *dst, j->get(), o);
    ASSERT_FALSE(stats.ok());
    EXPECT_NE(stats.status().message().find("giving up after 3 attempts"), std::string::npos);
    EXPECT_NE(stats.status().message().find("offset="), std::string::npos);
  }
  auto info = Journal::Inspect(jpath_);
  ASSERT_TRUE(info.ok());
  EXPECT_GT(info->present_granules, 50u);   // the work before the error is kept
  EXPECT_LT(info->present_granules, 128u);  // the failing granule is not
  src.ClearFaults();
  auto j = Journal::Open(jpath_, Id());
  ASSERT_TRUE(j.ok());
  auto stats = Migrate(src, *dst, j->get(), o);
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_EQ(stats->bytes_resumed, info->present_bytes);
  EXPECT_LT(stats->bytes_copied + stats->bytes_skipped, kSize - info->present_bytes + 16 * kG);
  EXPECT_EQ(ReadAll(*dst), ReadAll(*mem));
  EXPECT_EQ((*j)->state(), JournalState::kCopied);
}

TEST_F(MigrateTest, NonRetryableErrorStopsAtOnce) {
  auto mem = MakeSource();
  auto dmem = NewMemoryVolume("dst", kSize);
  FaultVolume dst(dmem.get());
  dst.FailRange(true, 0, kSize, Status(StatusCode::kNoSpace, "pwrite: dst: No space left on device"));
  auto stats = Migrate(*mem, dst, nullptr, Fast());
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), StatusCode::kNoSpace);
  EXPECT_EQ(stats.status().message().find("giving up"), std::string::npos);
}

// Invariants 5 and 6: crash the destination at many instants; every granule the journal
// records as present must hold the source's data after the crash, and a rerun with the
// same journal must finish with a byte-identical destination.
TEST_F(MigrateTest, Invariants5And6CrashAtAnyWriteThenResume) {
  auto src = MakeSource();
  const auto want = ReadAll(*src);
  for (int crash_after : {0, 1, 5, 17, 40, 90}) {
    SCOPED_TRACE(crash_after);
    std::filesystem::remove(jpath_);
    auto dmem = NewMemoryVolume("dst", kSize);
    std::vector<std::byte> old(kSize, std::byte{0xee});  // stale data the crash may expose
    ASSERT_TRUE(dmem->Write(0, old).ok());
    FaultVolume dst(dmem.get());
    MigrateOptions o = Fast();
    o.min_chunk = o.max_chunk = kG;  // many small writes, many commits
    o.commit_interval = std::chrono::milliseconds(0);
    {
      auto j = Journal::Create(jpath_, Id());
      ASSERT_TRUE(j.ok());
      dst.CrashAfterWrites(crash_after);
      auto stats = Migrate(*src, dst, j->get(), o);
      EXPECT_FALSE(stats.ok());
    }
    ASSERT_TRUE(dst.Crash().ok());  // power cut: unflushed writes are lost
    auto j = Journal::Open(jpath_, Id());
    ASSERT_TRUE(j.ok()) << j.status().message();
    const auto& present = (*j)->present();
    auto got = ReadAll(*dmem);
    for (uint64_t g = 0; g < kSize / kG; ++g) {
      if (present[g / 64] >> (g % 64) & 1) {
        ASSERT_TRUE(std::equal(got.begin() + g * kG, got.begin() + (g + 1) * kG, want.begin() + g * kG))
            << "granule " << g << " is marked present but its data is not durable";
      }
    }
    auto stats = Migrate(*src, dst, j->get(), o);
    ASSERT_TRUE(stats.ok()) << stats.status().message();
    EXPECT_EQ(ReadAll(*dmem), want);
  }
}

TEST_F(MigrateTest, CompletedJournalCopiesNothing) {
  auto src = MakeSource();
  auto dst = NewMemoryVolume("dst", kSize);
  auto j = Journal::Create(jpath_, Id());
  ASSERT_TRUE(j.ok());
  ASSERT_TRUE(Migrate(*src, *dst, j->get(), Fast()).ok());
  auto stats = Migrate(*src, *dst, j->get(), Fast());
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->bytes_resumed, kSize);
  EXPECT_EQ(stats->bytes_copied, 0u);
  EXPECT_EQ(stats->copy_ops, 0u);
}

// A source that cancels the migration when the copy reaches `at`, and holds that read
// long enough for the engine to notice, so the cancel lands mid-copy on any machine.
class CancellingVolume final : public Volume {
 public:
  CancellingVolume(Volume* base, uint64_t at, std::atomic<bool>* cancel, SyncPointCounter* points)
      : base_(base), at_(at), cancel_(cancel), points_(points) {}
  const std::string& name() const override { return base_->name(); }
  uint64_t size() const override { return base_->size(); }
  VolumeCapabilities capabilities() const override { return base_->capabilities(); }
  // The read of `at` cancels. From then on every read waits until the thread that runs
  // the migration has woken twice: the first wake saw the cancel and stopped the copy, so
  // no copy starts after, however slow the machine (a 200 ms sleep here once let the
  // other worker finish the volume first under load).
  Status Read(uint64_t offset, std::span<std::byte> buf) override {
    if (offset <= at_ && at_ < offset + buf.size() && !cancel_->load()) {
      woke_at_cancel_ = points_->Count(kWoke);
      cancel_->store(true);
    }
    if (cancel_->load()) {
      EXPECT_TRUE(points_->WaitFor(kWoke, woke_at_cancel_ + 2));
    }
    return base_->Read(offset, buf);
  }
  Status Write(uint64_t offset, std::span<const std::byte> buf) override { return base_->Write(offset, buf); }
  Status Flush() override { return base_->Flush(); }

 private:
  static constexpr const char* kWoke = "Migration::Run:woke";
  Volume* base_;
  const uint64_t at_;
  std::atomic<bool>* cancel_;
  SyncPointCounter* points_;
  std::atomic<int> woke_at_cancel_{0};
};

TEST_F(MigrateTest, CancelStopsAndKeepsTheJournalConsistent) {
  auto mem = MakeSource();
  FaultVolume slow(mem.get());
  slow.SetReadDelay(std::chrono::milliseconds(2));  // the other copies crawl meanwhile
  std::atomic<bool> cancel{false};
  SyncPointCounter points;
  CancellingVolume src(&slow, kSize / 4, &cancel, &points);
  auto dst = NewMemoryVolume("dst", kSize);
  MigrateOptions o = Fast();
  o.min_chunk = o.max_chunk = kG;
  o.threads = 2;  // the copy ascends two granules at a time: the last ones are not issued yet
  o.cancel = &cancel;
  o.progress_interval = std::chrono::milliseconds(1);
  auto j = Journal::Create(jpath_, Id());
  ASSERT_TRUE(j.ok());
  auto stats = Migrate(src, *dst, j->get(), o);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), StatusCode::kCancelled);
  EXPECT_EQ((*j)->state(), JournalState::kCopying);
  auto again = Migrate(*mem, *dst, j->get(), Fast());
  ASSERT_TRUE(again.ok());
  EXPECT_GT(again->bytes_resumed, 0u);
  EXPECT_LT(again->bytes_resumed, kSize);
  EXPECT_EQ(ReadAll(*dst), ReadAll(*mem));
}

TEST_F(MigrateTest, RejectsBadOptions) {
  MigrateOptions o;
  o.granule_size = 3000;
  EXPECT_EQ(ValidateMigrateOptions(o).code(), StatusCode::kInvalidArgument);
  o = MigrateOptions{};
  o.max_chunk = o.min_chunk / 2;
  EXPECT_FALSE(ValidateMigrateOptions(o).ok());
  o = MigrateOptions{};
  o.threads = 0;
  EXPECT_FALSE(ValidateMigrateOptions(o).ok());
}

TEST_F(MigrateTest, SmallerDestinationIsRefusedBeforeAnyWrite) {
  auto src = MakeSource();
  auto dmem = NewMemoryVolume("dst", kSize / 2);
  FaultVolume dst(dmem.get());
  auto stats = Migrate(*src, dst, nullptr, Fast());
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(dst.mutations(), 0u);
}

}  // namespace
}  // namespace ferry
