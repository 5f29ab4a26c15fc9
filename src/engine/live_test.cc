// LiveMigration: the request path during a migration, each data-safety invariant of
// DESIGN.md attacked with requests racing the background copy.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <cstring>
#include <future>
#include <random>
#include <thread>

#include "common/test_temp_dir.h"
#include "engine/live_status.h"
#include "ferry/live.h"
#include "predict/predictor.h"
#include "sched/scheduler.h"
#include "volume/async_volume.h"
#include "volume/fault_volume.h"
#include "volume/test_read_volume.h"

namespace ferry {
namespace {

constexpr uint64_t kG = 64 << 10;
constexpr uint64_t kSize = 8 << 20;  // 128 granules

std::vector<std::byte> Random(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::byte> b(n);
  for (auto& x : b) x = std::byte(rng());
  return b;
}

// A source of random data (granule 5 all zero), its bytes, and volumes around it.
struct Fixture {
  explicit Fixture(uint64_t size = kSize)
      : src_base(NewMemoryVolume("src", size)), dst_base(NewMemoryVolume("dst", size)) {
    expected = Random(size, 7);
    std::memset(expected.data() + 5 * kG, 0, kG);
    EXPECT_TRUE(src_base->Write(0, expected).ok());
  }

  std::unique_ptr<Volume> src_base;
  std::unique_ptr<Volume> dst_base;
  FaultVolume* src = nullptr;  // owned by the migration once started
  FaultVolume* dst = nullptr;
  std::vector<std::byte> expected;
  std::shared_ptr<Predictor> predictor;  // given to the migration when set

  // `async`: the copies' source reads and destination writes are answered later, out
  // of order, from another thread (AsyncVolume), as NBD volumes answer them.
  Result<std::unique_ptr<LiveMigration>> Start(MigrateOptions o, std::unique_ptr<Journal> journal = nullptr,
                                               std::chrono::microseconds read_delay = std::chrono::microseconds(300),
                                               bool async = false) {
    auto s = std::make_unique<FaultVolume>(src_base.get());
    auto d = std::make_unique<FaultVolume>(dst_base.get());
    s->SetReadDelay(read_delay);
    src = s.get();
    dst = d.get();
    std::unique_ptr<Volume> source = std::move(s), destination = std::move(d);
    if (async) {
      source = std::make_unique<AsyncVolume>(std::move(source), std::chrono::microseconds(100));
      destination = std::make_unique<AsyncVolume>(std::move(destination), std::chrono::microseconds(100));
    }
    return LiveMigration::Start(std::move(source), std::move(destination), std::move(journal), predictor, o);
  }
  void Apply(uint64_t off, std::span<const std::byte> data) {
    std::memcpy(expected.data() + off, data.data(), data.size());
  }
};

MigrateOptions Opts(int threads = 4) {
  MigrateOptions o;
  o.threads = threads;
  o.retry_backoff = std::chrono::milliseconds(1);
  o.commit_interval = std::chrono::milliseconds(20);
  return o;
}

// The background copy never starts (until Pause(false)): only the requests move data,
// so no copy can bring in a granule before a test's requests reach it.
MigrateOptions Paused(MigrateOptions o) {
  o.start_paused = true;
  return o;
}

void WaitComplete(LiveMigration& m) {
  for (int i = 0; i < 2000 && !m.stats().complete; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(m.stats().complete);
}

TEST(LiveTest, ServesTheSourceDataWhileItMovesAndCompletes) {
  Fixture f;
  auto m = f.Start(Opts(2));
  ASSERT_TRUE(m.ok()) << m.status().message();
  // Invariant 2: whatever is read is the current data, copied or not.
  std::mt19937_64 rng(3);
  std::vector<std::byte> buf(12345);
  for (int i = 0; i < 200; ++i) {
    const uint64_t off = rng() % (kSize - buf.size());
    ASSERT_TRUE((*m)->Read(off, buf).ok());
    ASSERT_EQ(0, std::memcmp(buf.data(), f.expected.data() + off, buf.size())) << "read at " << off;
  }
  WaitComplete(**m);
  const LiveStats st = (*m)->stats();
  EXPECT_EQ(st.reads, 200u);
  EXPECT_GT(st.read_stalls, 0u);
  EXPECT_EQ(st.present_bytes, kSize);
  // When it became complete, not how long it has run.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_GT(st.complete_seconds, 0);
  EXPECT_EQ((*m)->stats().complete_seconds, st.complete_seconds);
  EXPECT_GE((*m)->stats().seconds, st.complete_seconds + 0.3);
  ASSERT_TRUE((*m)->Stop().ok());
  EXPECT_EQ(ReadAll(*f.dst_base), f.expected);
  EXPECT_EQ(ReadAll(*f.src_base), f.expected);  // invariant 1 (no writes here)
  // The history for the report: every byte made present by one copy, the reads counted
  // where they landed, the stalls and demand copies as the statistics count them.
  const LiveHistory h = (*m)->history();
  ASSERT_FALSE(h.rows.empty());
  uint64_t made = 0, mapped = 0, demand = 0, reads = 0, stalls = 0, io = 0;
  for (const LiveRow& r : h.rows) {
    made += r.demand_bytes + r.prefetch_bytes + r.background_bytes;
    demand += r.demand_bytes;
    for (uint64_t b : r.copy_map) mapped += b;
    for (uint64_t b : r.io_map) io += b;
    reads += r.reads;
    stalls += r.read_stalls;
  }
  EXPECT_EQ(made, kSize);
  EXPECT_EQ(mapped, kSize);
  EXPECT_EQ(reads, 200u);
  EXPECT_EQ(io, 200u * buf.size());
  EXPECT_EQ(stalls, st.read_stalls);
  EXPECT_EQ(demand, st.demand_bytes);  // may be 0: a stalled read can wait for a copy already in flight
  EXPECT_EQ(h.rows.back().present_bytes, kSize);
  uint64_t timed = 0;
  for (uint64_t c : h.read_latency) timed += c;
  EXPECT_EQ(timed, 200u);
  EXPECT_GT((*m)->stats().read_p99_us, 0);
}

// The history (--history) counts as seen: a stalled read of a granule it touched is a
// seen stall, of one nothing touched a first touch, and the two sum to the stalls.
TEST(LiveTest, ReadStallsAreSplitIntoFirstTouchesAndSeenWithTheHistoryCounted) {
  Fixture f;
  MigrateOptions o = Opts(1);
  o.policy = Policy::kDmClone;  // ascending from granule 0, heat or not
  o.rate_limit = 4096;          // after the first copy, nothing more for minutes
  std::vector<IoEvent> history(1);
  history[0].offset = 100 * kG;
  history[0].length = 4096;
  o.history = &history;
  auto m = f.Start(o);
  ASSERT_TRUE(m.ok()) << m.status().message();
  std::vector<std::byte> buf(4096);
  ASSERT_TRUE((*m)->Read(100 * kG, buf).ok());  // seen in the history
  ASSERT_TRUE((*m)->Read(110 * kG, buf).ok());  // a first touch
  ASSERT_TRUE((*m)->Read(111 * kG, buf).ok());  // a first touch
  const LiveStats st = (*m)->stats();
  EXPECT_EQ(st.read_stalls, 3u);
  EXPECT_EQ(st.read_stalls_seen, 1u);
  EXPECT_EQ(st.read_stalls_first_touch, 2u);
  EXPECT_EQ(st.prevented_stalls, 0u);
  ASSERT_TRUE((*m)->Stop().ok());
}

// A predictor that gets stuck, in inference (Observe) or in training (Train), until
// released; otherwise it predicts the granule after each access.
class StuckPredictor : public Predictor {
 public:
  enum class Where { kInference, kTraining };
  explicit StuckPredictor(Where where) : where_(where) {}
  const char* name() const override { return "stuck"; }
  void Observe(uint64_t, uint64_t last, IoOp, std::vector<Prediction>* out) override {
    if (where_ == Where::kInference) Stick();
    out->push_back({last + 1, 1, 0.9, 1});
  }
  void Train() override {
    if (where_ == Where::kTraining) Stick();
  }
  void WaitStuck() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return stuck_; });
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
  }
  // Releases it when the test ends, however it ends (the migration's threads join).
  struct ReleaseAtEnd {
    StuckPredictor* p;
    ~ReleaseAtEnd() { p->Release(); }
  };

 private:
  void Stick() {
    std::unique_lock<std::mutex> lock(mu_);
    stuck_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return released_; });
  }
  const Where where_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stuck_ = false, released_ = false;
};

// The predictor never runs under the request path's lock: with a predictor stuck in
// inference, requests are still answered (they would deadlock if it ran on their path).
TEST(LiveTest, APredictorStuckInInferenceHoldsUpNoRequest) {
  Fixture f;
  auto stuck = std::make_shared<StuckPredictor>(StuckPredictor::Where::kInference);
  f.predictor = stuck;
  StuckPredictor::ReleaseAtEnd release_at_end{stuck.get()};
  auto m = f.Start(Opts(2));
  ASSERT_TRUE(m.ok()) << m.status().message();
  std::vector<std::byte> buf(4096);
  ASSERT_TRUE((*m)->Read(0, buf).ok());
  stuck->WaitStuck();  // inference under way, stuck
  for (int i = 0; i < 50; ++i) {
    const uint64_t off = static_cast<uint64_t>(i) * 2 * kG;
    ASSERT_TRUE((*m)->Read(off, buf).ok());
    ASSERT_EQ(0, std::memcmp(buf.data(), f.expected.data() + off, buf.size()));
    ASSERT_TRUE((*m)->Write(off + 4096, buf, false).ok());
  }
  stuck->Release();
  WaitComplete(**m);
  ASSERT_TRUE((*m)->Stop().ok());
}

// A read of present granules takes no engine lock (request_path.cc): it is answered
// while a copier thread holds the lock (here, stuck in on_copy, which runs under it),
// with the data last written; and it is still counted.
TEST(LiveTest, AReadOfPresentDataIsAnsweredWhileTheEnginesLockIsHeld) {
  Fixture f;
  std::mutex mu;
  std::condition_variable cv;
  bool in_copy = false, release = false;
  MigrateOptions o = Opts(2);
  o.start_paused = true;
  o.on_copy = [&](const Range&) {
    std::unique_lock<std::mutex> l(mu);
    in_copy = true;
    cv.notify_all();
    cv.wait(l, [&] { return release; });
  };
  auto m = f.Start(o);
  ASSERT_TRUE(m.ok()) << m.status().message();
  const std::vector<std::byte> data = Random(kG, 11);
  ASSERT_TRUE((*m)->Write(3 * kG, data, false).ok());  // a whole granule: present, no copy
  f.Apply(3 * kG, data);
  std::vector<std::byte> buf(4096);
  ASSERT_TRUE((*m)->Read(3 * kG, buf).ok());  // found present under the lock
  (*m)->Pause(false);
  {
    std::unique_lock<std::mutex> l(mu);
    ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(10), [&] { return in_copy; }));
  }
  auto hit = std::async(std::launch::async, [&] {
    std::vector<std::byte> b(4096);
    Status s = (*m)->Read(3 * kG + 8192, b);
    return s.ok() && std::memcmp(b.data(), f.expected.data() + 3 * kG + 8192, b.size()) == 0;
  });
  const bool answered = hit.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  {
    std::lock_guard<std::mutex> l(mu);
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(answered) << "a read of present data waited for the engine's lock";
  EXPECT_TRUE(hit.get());
  WaitComplete(**m);
  EXPECT_EQ((*m)->stats().reads, 2u);
  ASSERT_TRUE((*m)->Stop().ok());
}

// With a history, the predictor learns it on its own thread: a model whose training
// never ends holds up neither the start (the export answers at once), nor requests, nor
// the copy, which follows the history's heat meanwhile; status says it is learning.
TEST(LiveTest, APredictorStuckInTrainingOnTheHistoryHoldsUpNeitherTheStartNorTheCopy) {
  Fixture f;
  auto slow = std::make_shared<StuckPredictor>(StuckPredictor::Where::kTraining);
  f.predictor = slow;
  StuckPredictor::ReleaseAtEnd release_at_end{slow.get()};
  std::vector<IoEvent> history(1);
  history[0].offset = 40 * kG;
  history[0].length = kG;
  MigrateOptions o = Opts(2);
  o.history = &history;
  std::mutex copies_mu;
  std::vector<Range> copies;
  o.on_copy = [&](const Range& r) {
    std::lock_guard<std::mutex> lock(copies_mu);
    copies.push_back(r);
  };
  auto m = f.Start(o);  // returns: it does not wait for Train
  ASSERT_TRUE(m.ok()) << m.status().message();
  slow->WaitStuck();  // training under way, stuck
  EXPECT_TRUE((*m)->stats().learning_history);
  std::vector<std::byte> buf(4096);
  ASSERT_TRUE((*m)->Read(100 * kG, buf).ok());
  ASSERT_EQ(0, std::memcmp(buf.data(), f.expected.data() + 100 * kG, buf.size()));
  WaitComplete(**m);  // the whole copy, while the model trains
  {
    std::lock_guard<std::mutex> lock(copies_mu);
    ASSERT_FALSE(copies.empty());
    // In the history's hot region (the heat map's bins are coarser than a granule),
    // not at granule 0 where an ascending copy starts.
    EXPECT_GE(copies.front().offset, 32 * kG) << "the first copy did not follow the history's heat";
    EXPECT_LT(copies.front().offset, 48 * kG) << "the first copy did not follow the history's heat";
  }
  EXPECT_TRUE((*m)->stats().learning_history);
  EXPECT_EQ((*m)->stats().predicted_bytes, 0u);
  slow->Release();
  ASSERT_TRUE((*m)->Stop().ok());  // the predictor's thread ends once trained
  EXPECT_FALSE((*m)->stats().learning_history);
  EXPECT_EQ((*m)->stats().predicted_bytes, 0u) << "a continuation queued after the migration completed";
}

// The stop does not wait for a predictor still being made (serve --exit-when-done waited
// 17.8 s for LibTorch's load from a cold disk once the copy had ended): it cancels the
// making, which gives up, and the stop is not reported as the predictor's failure.
TEST(LiveTest, TheStopCancelsAPredictorStillBeingMade) {
  Fixture f;
  std::atomic<bool> making{false}, saw_cancel{false};
  MigrateOptions o = Opts(2);
  o.make_predictor = [&](const std::atomic<bool>* cancel) -> Result<std::unique_ptr<Predictor>> {
    making = true;
    // A load that never ends unless cancelled (a minute: the test fails, not hangs).
    for (int i = 0; i < 6000 && !(cancel && cancel->load()); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    saw_cancel = cancel && cancel->load();
    return Cancelled("the LSTM's library was not loaded: its load was cancelled");
  };
  auto m = f.Start(o);
  ASSERT_TRUE(m.ok()) << m.status().message();
  while (!making) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  WaitComplete(**m);
  ASSERT_TRUE((*m)->Stop().ok());
  EXPECT_TRUE(saw_cancel) << "the stop waited for the predictor's making to end by itself";
  EXPECT_EQ((*m)->stats().predictor_error, "") << "a stop was reported as the predictor's failure";
}

// A predictor made on its own thread (MigrateOptions::make_predictor, as serve makes
// the LSTM's): when making it fails, the migration goes on without predictions and says
// why; when it succeeds, the predictor sees the application's accesses.
TEST(LiveTest, APredictorMadeOnItsOwnThreadThatFailsLeavesTheCopyToGoOnWithoutIt) {
  {
    Fixture f;
    MigrateOptions o = Opts(2);
    o.rate_limit = 4096;  // the copy goes on until the reads below are done
    o.make_predictor = [](const std::atomic<bool>*) -> Result<std::unique_ptr<Predictor>> {
      return NotSupported("the LSTM predictor needs libferry_lstm.so, which was not found");
    };
    auto m = f.Start(o);
    ASSERT_TRUE(m.ok()) << m.status().message();
    for (int i = 0; i < 600 && (*m)->stats().predictor_error.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    // More accesses than the predictor's feed holds: none is queued for it.
    std::vector<std::byte> buf(4096);
    for (int i = 0; i < 5000; ++i) ASSERT_TRUE((*m)->Read(static_cast<uint64_t>(i % 4) * kG, buf).ok());
    (*m)->SetRate(0);
    WaitComplete(**m);
    ASSERT_TRUE((*m)->Stop().ok());
    const LiveStats st = (*m)->stats();
    EXPECT_EQ(st.predictor_error, "the LSTM predictor needs libferry_lstm.so, which was not found");
    EXPECT_EQ(st.predicted_bytes, 0u);
    EXPECT_EQ(st.predictions_skipped, 0u) << "accesses were queued for a predictor that does not exist";
    EXPECT_NE(LiveSummary(st, "j").find("the predictor could not start (the LSTM predictor needs"), std::string::npos);
  }
  {
    Fixture f;
    MigrateOptions o = Opts(1);
    o.rate_limit = 4096;  // nothing but the first copy and the predicted ones for minutes
    o.make_predictor = [](const std::atomic<bool>*) -> Result<std::unique_ptr<Predictor>> {
      return MakePredictor("stride");
    };
    auto m = f.Start(o);
    ASSERT_TRUE(m.ok()) << m.status().message();
    std::vector<std::byte> buf(4096);
    for (uint64_t g = 60; g < 70; ++g) ASSERT_TRUE((*m)->Read(g * kG, buf).ok());  // a sequential reader
    for (int i = 0; i < 600 && (*m)->stats().predicted_bytes == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_GT((*m)->stats().predicted_bytes, 0u) << "the predictor made on its thread predicted nothing";
    EXPECT_EQ((*m)->stats().predictor_error, "");
    ASSERT_TRUE((*m)->Stop().ok());
  }
}

TEST(LiveTest, ReadsNeverWaitForTheRateAndARateChangeTakesEffectAtOnce) {
  // At 1 byte/s a background copy of one granule is paid for over 18 hours: the reads
  // below finish only if none waits for the rate (the rate paces after a copy, never
  // with granules held in flight), and the migration completes only if the new rate
  // reaches the workers already waiting to pay. No clock is read: a broken engine
  // hangs here, and ctest's timeout fails it.
  Fixture f;
  MigrateOptions o = Opts(4);
  o.rate_limit = 1;
  auto m = f.Start(o);
  ASSERT_TRUE(m.ok()) << m.status().message();
  std::mt19937_64 rng(11);
  std::vector<std::byte> buf(4096);
  for (int i = 0; i < 100; ++i) {
    const uint64_t off = rng() % (kSize - buf.size());
    ASSERT_TRUE((*m)->Read(off, buf).ok());
    ASSERT_EQ(0, std::memcmp(buf.data(), f.expected.data() + off, buf.size()));
  }
  EXPECT_FALSE((*m)->stats().complete);
  (*m)->SetRate(0);  // the workers waiting to pay for their last copy go on now
  WaitComplete(**m);
  ASSERT_TRUE((*m)->Stop().ok());
  EXPECT_EQ(ReadAll(*f.dst_base), f.expected);
}

TEST(LiveTest, APartialWriteToAMissingGranuleIsAnsweredBeforeTheGranuleLands) {
  // Invariant 4 without the wait: the write's bytes land at once and the granule's copy
  // lands around them (WriteBehind); until then the granule is served to no one.
  Fixture f;
  auto m = f.Start(Paused(Opts(1)), nullptr, std::chrono::milliseconds(800), /*async=*/true);
  ASSERT_TRUE(m.ok());
  const auto patch = Random(1000, 9);
  const uint64_t off = 77 * kG + 300;  // inside granule 77, not aligned
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE((*m)->Write(off, patch, false).ok());
  // Answered before the source's read of granule 77 (800 ms) could be.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(400));
  f.Apply(off, patch);
  // Another over part of it, before the granule lands: the newer bytes win.
  const auto over = Random(800, 17);
  ASSERT_TRUE((*m)->Write(off + 600, over, false).ok());
  f.Apply(off + 600, over);
  EXPECT_EQ((*m)->stats().write_stalls, 0u);
  // A read of the written bytes is answered from them, before the granule lands.
  std::vector<std::byte> back(600);
  const auto t1 = std::chrono::steady_clock::now();
  ASSERT_TRUE((*m)->Read(off + 200, back).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t1, std::chrono::milliseconds(400));
  EXPECT_EQ(0, std::memcmp(back.data(), f.expected.data() + off + 200, back.size()));
  // A read of the granule: the source's bytes around the write's.
  std::vector<std::byte> g(kG);
  ASSERT_TRUE((*m)->Read(77 * kG, g).ok());
  EXPECT_EQ(0, std::memcmp(g.data(), f.expected.data() + 77 * kG, kG));
  ASSERT_TRUE(f.dst_base->Read(77 * kG, g).ok());
  EXPECT_EQ(0, std::memcmp(g.data(), f.expected.data() + 77 * kG, kG));
  // A FUA write is durable when answered: its granule is brought in first, as before.
  const auto fua = Random(3000, 11);
  ASSERT_TRUE((*m)->Write(80 * kG + 5000, fua, /*fua=*/true).ok());
  f.Apply(80 * kG + 5000, fua);
  ASSERT_TRUE(f.dst_base->Read(80 * kG, g).ok());
  EXPECT_EQ(0, std::memcmp(g.data(), f.expected.data() + 80 * kG, kG));
  EXPECT_EQ((*m)->stats().write_stalls, 1u);
  // A write covering whole granules copies nothing.
  f.src->SetReadDelay(std::chrono::microseconds(0));
  const uint64_t reads = f.src->reads();
  const auto whole = Random(2 * kG, 10);
  ASSERT_TRUE((*m)->Write(90 * kG, whole, false).ok());
  f.Apply(90 * kG, whole);
  EXPECT_EQ(f.src->reads(), reads);
  (*m)->Pause(false);
  WaitComplete(**m);
  ASSERT_TRUE((*m)->Stop().ok());
  EXPECT_EQ(ReadAll(*f.dst_base), f.expected);
  // How long the writes took, and the one that waited, in status (the stop's last sample).
  EXPECT_GT((*m)->stats().write_p99_us, 0);
  EXPECT_GT((*m)->stats().write_wait_p50_us, 0);
}

TEST(LiveTest, PartialWritesBeyondTheBytesKeptForThemWaitForTheirGranules) {
  // Scheduler::kMaxWrittenBehindBytes of granules (256 of 64 KiB) hold the bytes of
  // writes left behind their copies; a partial write to one more waits for its copy (as
  // the simulator has it), and the data ends as written.
  const uint64_t kept = Scheduler::kMaxWrittenBehindBytes / kG;
  Fixture f((kept + 64) * kG);
  auto m = f.Start(Paused(Opts(1)), nullptr, std::chrono::seconds(2), /*async=*/true);
  ASSERT_TRUE(m.ok());
  // The source answers one read at a time, the first after 2 s: no copy lands before
  // the last write below is sent. (Granule 5, a hole, would land at once: not written.)
  const auto patch = Random(512, 3);
  for (uint64_t g = 10; g < 10 + kept; ++g) {
    ASSERT_TRUE((*m)->Write(g * kG + 100, patch, false).ok());
    f.Apply(g * kG + 100, patch);
  }
  EXPECT_EQ((*m)->stats().write_stalls, 0u);
  f.src->SetReadDelay(std::chrono::microseconds(0));
  ASSERT_TRUE((*m)->Write((kept + 20) * kG + 100, patch, false).ok());
  f.Apply((kept + 20) * kG + 100, patch);
  EXPECT_EQ((*m)->stats().write_stalls, 1u);
  (*m)->Pause(false);
  WaitComplete(**m);
  ASSERT_TRUE((*m)->Stop().ok());
  EXPECT_EQ(ReadAll(*f.dst_base), f.expected);
}

TEST(LiveTest, AFlushWaitsForTheGranulesOfWritesLeftBehindTheirCopies) {
  // Invariant 5: a flush answered makes every write before it durable, those whose
  // granules were still on their way from the source too; the journal says so.
  TestTempDir tmp;
  Fixture f;
  const std::string jpath = tmp.Path("j");
  auto j = Journal::Create(jpath, JournalIdentity{"src", "dst", kSize, kG});
  ASSERT_TRUE(j.ok());
  auto m = f.Start(Paused(Opts(1)), std::move(j).value(), std::chrono::milliseconds(300), /*async=*/true);
  ASSERT_TRUE(m.ok());
  for (uint64_t g : {20u, 21u, 40u}) {
    const auto patch = Random(512, static_cast<uint32_t>(g));
    ASSERT_TRUE((*m)->Write(g * kG + 4096, patch, false).ok());
    f.Apply(g * kG + 4096, patch);
  }
  ASSERT_TRUE((*m)->Flush().ok());
  std::vector<std::byte> g(kG);
  for (uint64_t i : {20u, 21u, 40u}) {
    ASSERT_TRUE(f.dst_base->Read(i * kG, g).ok());
    EXPECT_EQ(0, std::memcmp(g.data(), f.expected.data() + i * kG, kG)) << "granule " << i;
  }
  EXPECT_GE(Journal::Inspect(jpath)->present_granules, 3u);
  ASSERT_TRUE((*m)->Stop().ok());
}

TEST(LiveTest, AWriteLeftBehindACopyTheSourceFailsIsBroughtInOnceTheSourceIsBack) {
  // The granule's copy fails: the write stays pending, reads of the granule and a flush
  // get the source's error (never the source's bytes without the write), and once the
  // source answers again a flush brings the granule in with the write.
  Fixture f;
  auto m = f.Start(Paused(Opts(1)), nullptr, std::chrono::microseconds(300), /*async=*/true);
  ASSERT_TRUE(m.ok());
  f.src->FailRange(false, 33 * kG, kG, IoError("injected"));
  const auto patch = Random(700, 12);
  ASSERT_TRUE((*m)->Write(33 * kG + 100, patch, false).ok());
  f.Apply(33 * kG + 100, patch);
  EXPECT_FALSE((*m)->Flush().ok());
  std::vector<std::byte> g(kG);
  EXPECT_FALSE((*m)->Read(33 * kG, g).ok());
  // The same on granule 34, then a write of all of it: the older write is gone for good
  // (the granule is the new write's, never the old one laid over it).
  f.src->FailRange(false, 34 * kG, kG, IoError("injected"));
  const auto old_bytes = Random(300, 15);
  ASSERT_TRUE((*m)->Write(34 * kG + 100, old_bytes, false).ok());
  EXPECT_FALSE((*m)->Flush().ok());
  const auto all = Random(kG, 16);
  ASSERT_TRUE((*m)->Write(34 * kG, all, false).ok());
  f.Apply(34 * kG, all);
  ASSERT_TRUE((*m)->Read(34 * kG, g).ok());
  EXPECT_EQ(0, std::memcmp(g.data(), all.data(), kG));
  f.src->ClearFaults();
  ASSERT_TRUE((*m)->Flush().ok());
  ASSERT_TRUE((*m)->Read(33 * kG, g).ok());
  EXPECT_EQ(0, std::memcmp(g.data(), f.expected.data() + 33 * kG, kG));
  (*m)->Pause(false);
  WaitComplete(**m);
  ASSERT_TRUE((*m)->Stop().ok());
  EXPECT_EQ(ReadAll(*f.dst_base), f.expected);
}

// A source whose allocation map says [hole_offset, +hole_length) reads as zeroes.
class HoledVolume final : public Volume {
 public:
  HoledVolume(std::unique_ptr<Volume> base, uint64_t hole_offset, uint64_t hole_length)
      : base_(std::move(base)), hole_{hole_offset, hole_length} {}
  const std::string& name() const override { return base_->name(); }
  uint64_t size() const override { return base_->size(); }
  VolumeCapabilities capabilities() const override {
    VolumeCapabilities c = base_->capabilities();
    c.extents_report_zero = true;
    return c;
  }
  Status Read(uint64_t offset, std::span<std::byte> buf) override { return base_->Read(offset, buf); }
  Status Write(uint64_t offset, std::span<const std::byte> buf) override { return base_->Write(offset, buf); }
  Status Flush() override { return base_->Flush(); }
  Status Extents(uint64_t offset, uint64_t length, std::vector<Extent>* out) override {
    for (uint64_t at = offset; at < offset + length;) {
      const bool in_hole = at >= hole_.offset && at < hole_.offset + hole_.length;
      const uint64_t next = in_hole ? hole_.offset + hole_.length : at < hole_.offset ? hole_.offset : size();
      const uint64_t end = std::min(next, offset + length);
      out->push_back({at, end - at, in_hole});
      at = end;
    }
    return OkStatus();
  }

 private:
  std::unique_ptr<Volume> base_;
  Range hole_;
};

TEST(LiveTest, APartialWriteIntoASourceHoleKeepsItsBytes) {
  // Granule 5 is a hole of the source: its copy zeroes the destination there, and must
  // lay the write left behind it over those zeroes (the destination held other bytes).
  Fixture f;
  const auto junk = Random(kG, 13);
  ASSERT_TRUE(f.dst_base->Write(5 * kG, junk).ok());
  const MigrateOptions o = Paused(Opts(1));
  auto src = std::make_unique<HoledVolume>(std::make_unique<FaultVolume>(f.src_base.get()), 5 * kG, kG);
  auto m = LiveMigration::Start(std::move(src), std::make_unique<FaultVolume>(f.dst_base.get()), nullptr, nullptr, o);
  ASSERT_TRUE(m.ok()) << m.status().message();
  const auto patch = Random(2000, 14);
  ASSERT_TRUE((*m)->Write(5 * kG + 9000, patch, false).ok());
  f.Apply(5 * kG + 9000, patch);
  std::vector<std::byte> g(kG);
  ASSERT_TRUE((*m)->Read(5 * kG, g).ok());
  EXPECT_EQ(0, std::memcmp(g.data(), f.expected.data() + 5 * kG, kG));
  (*m)->Pause(false);
  WaitComplete(**m);
  ASSERT_TRUE((*m)->Stop().ok());
  EXPECT_EQ(ReadAll(*f.dst_base), f.expected);
}

TEST(LiveTest, WritesRacingCopiesOfTheSameChunkAreNeverOverwritten) {
  // Invariant 3: with a slow source, copies are in flight most of the time; a writer
  // hammers the same region. A copy landing after a write would lose it. Rounds 3 and
  // up answer the copies' reads and writes out of order (a copy's write still queued
  // when the application's write to its granule comes).
  for (int round = 0; round < 6; ++round) {
    Fixture f;
    MigrateOptions o = Opts(8);
    o.min_chunk = o.max_chunk = kG;  // 128 copies of 2 ms, 8 at a time: the copy lasts
    auto m = f.Start(o, nullptr, std::chrono::microseconds(2000), /*async=*/round >= 3);
    ASSERT_TRUE(m.ok());
    std::mt19937_64 rng(round);
    for (int i = 0; i < 300; ++i) {
      // First whole granules (no copy: only the wait for a copy in flight keeps them),
      // then unaligned ones (their ends are brought in first).
      const bool whole = i < 150;
      const uint64_t len = whole ? (1 + rng() % 4) * kG : 1 + rng() % (3 * kG);
      const uint64_t off = whole ? rng() % (kSize / kG - 4) * kG : rng() % (kSize - len);
      const auto data = Random(len, static_cast<uint32_t>(round * 1000 + i));
      ASSERT_TRUE((*m)->Write(off, data, i % 50 == 0).ok());
      f.Apply(off, data);
    }
    WaitComplete(**m);
    ASSERT_TRUE((*m)->Stop().ok());
    ASSERT_EQ(ReadAll(*f.dst_base), f.expected) << "round " << round;
  }
}

TEST(LiveTest, ManyClientsReadAndWriteDisjointRegionsConcurrently) {
  Fixture f;
  auto m = f.Start(Opts(4), nullptr, std::chrono::microseconds(500));
  ASSERT_TRUE(m.ok());
  // Each thread owns a slice, so its own reads check its own writes.
  constexpr int kThreads = 4;
  const uint64_t slice = kSize / kThreads;
  std::vector<std::thread> ts;
  std::atomic<int> bad{0};
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      std::mt19937_64 rng(100 + t);
      for (int i = 0; i < 150; ++i) {
        const uint64_t len = 1 + rng() % 20000;
        const uint64_t off = t * slice + rng() % (slice - len);
        if (rng() % 2) {
          const auto data = Random(len, static_cast<uint32_t>(t * 10000 + i));
          if (!(*m)->Write(off, data, false).ok()) ++bad;
          std::memcpy(f.expected.data() + off, data.data(), len);  // this thread's slice only
        } else {
          std::vector<std::byte> buf(len);
          if (!(*m)->Read(off, buf).ok() || std::memcmp(buf.data(), f.expected.data() + off, len) != 0) ++bad;
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0);
  WaitComplete(**m);
  ASSERT_TRUE((*m)->Stop().ok());
  EXPECT_EQ(ReadAll(*f.dst_base), f.expected);
}

TEST(LiveTest, TrimAndZeroOfMissingGranulesNeedNoCopy) {
  Fixture f;
  auto m = f.Start(Paused(Opts(1)));
  ASSERT_TRUE(m.ok());
  const uint64_t reads = f.src->reads();
  ASSERT_TRUE((*m)->Zero(20 * kG, 3 * kG, false).ok());
  std::memset(f.expected.data() + 20 * kG, 0, 3 * kG);
  // A trim with unaligned ends discards only the whole granules inside.
  ASSERT_TRUE((*m)->Trim(40 * kG + 100, 2 * kG, false).ok());
  std::memset(f.expected.data() + 41 * kG, 0, kG);  // memory volumes discard to zeroes
  EXPECT_EQ(f.src->reads(), reads);
  std::vector<std::byte> buf(3 * kG);
  ASSERT_TRUE((*m)->Read(20 * kG, buf).ok());
  EXPECT_EQ(0, std::memcmp(buf.data(), f.expected.data() + 20 * kG, buf.size()));
  (*m)->Pause(false);
  WaitComplete(**m);
  ASSERT_TRUE((*m)->Stop().ok());
  EXPECT_EQ(ReadAll(*f.dst_base), f.expected);
}

// Invariants 2 to 4 with misses answered from the source (exactly their bytes): one
// thread writes missing granules (whole ones, which are reserved while the slow
// destination takes them, and partial ones, which bring the granule in first) while
// another reads the granule being written. Each 512-byte sector a read returns is the
// old data or the new, never the destination's bytes of a granule not yet present;
// a read after the write was acknowledged sees it; at the end the destination holds
// every write and the source data elsewhere.
void RaceReadThroughsAgainstWrites(bool async) {
  Fixture f;
  MigrateOptions o = Opts(2);
  o.rate_limit = 64 << 10;  // the granules written stay missing until written
  auto m = f.Start(o, nullptr, std::chrono::microseconds(300), async);
  ASSERT_TRUE(m.ok()) << m.status().message();
  // A miss is answered with exactly its bytes, from the source.
  std::vector<std::byte> miss(4096);
  ASSERT_TRUE((*m)->Read(50 * kG + 8192, miss).ok());
  EXPECT_EQ(0, std::memcmp(miss.data(), f.expected.data() + 50 * kG + 8192, miss.size()));
  EXPECT_EQ((*m)->stats().read_through_bytes, miss.size());
  f.dst->SetWriteDelay(std::chrono::milliseconds(2));
  constexpr int kWrites = 60;
  std::vector<uint64_t> offsets(kWrites);
  std::vector<std::vector<std::byte>> data(kWrites);
  for (int i = 0; i < kWrites; ++i) {
    const uint64_t len = i % 2 == 0 ? kG : 512 * (1 + i % 64);
    offsets[i] = (60 + i) * kG + (i % 4 == 1 ? kG - len : 0);  // distinct granules 60..119
    data[i] = Random(len, 100 + i);
  }
  std::atomic<int> started{-1}, acked{-1};
  std::atomic<int> bad{0}, checked{0};
  std::thread writer([&] {
    for (int i = 0; i < kWrites; ++i) {
      started.store(i);
      if (!(*m)->Write(offsets[i], data[i], false).ok()) ++bad;
      acked.store(i);
      // The reader's turn: partial writes are answered before their granules land
      // (WriteBehind), and would otherwise leave it few rounds.
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  // Reads granule j, whole or its first 4 KiB, and checks every 512 bytes: the write to
  // it when acknowledged before the read began, the old data or the write otherwise.
  auto check = [&](int j, std::span<std::byte> buf) {
    const bool after = acked.load() >= j;
    const uint64_t g0 = offsets[j] / kG * kG;
    if (!(*m)->Read(g0, buf).ok()) ++bad;
    for (uint64_t s = 0; s < buf.size(); s += 512) {
      const uint64_t off = g0 + s;
      const bool inside = off >= offsets[j] && off < offsets[j] + data[j].size();
      const std::byte* old = f.expected.data() + off;
      const std::byte* now = inside ? data[j].data() + (off - offsets[j]) : old;
      const bool is_old = std::memcmp(buf.data() + s, old, 512) == 0;
      const bool is_new = std::memcmp(buf.data() + s, now, 512) == 0;
      if (!(after ? is_new : is_old || is_new)) ++bad;
    }
  };
  std::thread reader([&] {
    std::vector<std::byte> whole(kG);
    const std::span<std::byte> block = std::span<std::byte>(whole).first(4096);
    while (acked.load() < kWrites - 1) {
      const int i = std::max(0, started.load());
      check(i, whole);  // the granule being written
      // The next one, about to be written: a read through, then a re-read answered
      // from its kept answer (its copy needs the destination's 2 ms), and the write
      // that lands meanwhile or next.
      if (i + 1 < kWrites) {
        check(i + 1, block);
        check(i + 1, block);
      }
      ++checked;
    }
  });
  writer.join();
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(checked.load(), kWrites);
  EXPECT_GT((*m)->stats().reads_kept, 0u);
  for (int i = 0; i < kWrites; ++i) f.Apply(offsets[i], data[i]);
  f.dst->SetWriteDelay(std::chrono::microseconds(0));
  (*m)->SetRate(0);
  WaitComplete(**m);
  ASSERT_TRUE((*m)->Stop().ok());
  EXPECT_EQ(ReadAll(*f.dst_base), f.expected);
}

TEST(LiveTest, AReReadBeforeItsGranuleLandsIsAnsweredFromTheKeptReadThroughAndAWriteWins) {
  Fixture f;
  auto m = f.Start(Paused(Opts(2)));
  ASSERT_TRUE(m.ok()) << m.status().message();
  // The copy starts paused: the read-throughs' granules stay missing (their copies queued).
  const uint64_t a = 40 * kG + 8192, b = 41 * kG;
  std::vector<std::byte> buf(4096);
  for (uint64_t off : {a, b}) {
    ASSERT_TRUE((*m)->Read(off, buf).ok());
    EXPECT_EQ(0, std::memcmp(buf.data(), f.expected.data() + off, buf.size()));
  }
  EXPECT_EQ((*m)->stats().read_through_bytes, 2 * buf.size());
  // Again, and a part of the first: from memory, no source read, no wait.
  std::vector<std::byte> part(1024);
  ASSERT_TRUE((*m)->Read(a, buf).ok());
  EXPECT_EQ(0, std::memcmp(buf.data(), f.expected.data() + a, buf.size()));
  ASSERT_TRUE((*m)->Read(a + 512, part).ok());
  EXPECT_EQ(0, std::memcmp(part.data(), f.expected.data() + a + 512, part.size()));
  LiveStats st = (*m)->stats();
  EXPECT_EQ(st.read_through_bytes, 2 * buf.size());
  EXPECT_EQ(st.reads_kept, 2u);
  EXPECT_EQ(st.read_stalls, 2u);
  // A partial write to the first granule (left behind its copy, invariant 4) and a
  // whole write of the second: the reads that follow see the writes. The first is
  // answered from the kept bytes with the write's laid over them, or from the
  // destination once its copy landed; the second from the destination.
  const std::vector<std::byte> w1 = Random(2048, 11), w2 = Random(kG, 12);
  ASSERT_TRUE((*m)->Write(a + 1024, w1, false).ok());
  ASSERT_TRUE((*m)->Write(b, w2, false).ok());
  f.Apply(a + 1024, w1);
  f.Apply(b, w2);
  for (uint64_t off : {a, b}) {
    ASSERT_TRUE((*m)->Read(off, buf).ok());
    EXPECT_EQ(0, std::memcmp(buf.data(), f.expected.data() + off, buf.size())) << off;
  }
  EXPECT_LE((*m)->stats().reads_kept, 3u);  // the whole write's granule: never kept
  (*m)->Pause(false);
  WaitComplete(**m);
  ASSERT_TRUE((*m)->Stop().ok());
  EXPECT_EQ(ReadAll(*f.dst_base), f.expected);
}

TEST(LiveTest, ReadThroughsRacingWritesNeverServeStaleOrTornData) { RaceReadThroughsAgainstWrites(false); }

TEST(LiveTest, ReadThroughsRacingWritesWithCopiesAnsweredOutOfOrder) { RaceReadThroughsAgainstWrites(true); }

// A source whose reads of one range block until released, and which says when it is
// destroyed: a read-through can be held inside it while the migration completes.
class GatedVolume final : public Volume {
 public:
  GatedVolume(Volume* base, uint64_t gate_offset, bool* destroyed)
      : base_(base), gate_offset_(gate_offset), destroyed_(destroyed) {}
  ~GatedVolume() override { *destroyed_ = true; }
  const std::string& name() const override { return base_->name(); }
  uint64_t size() const override { return base_->size(); }
  VolumeCapabilities capabilities() const override { return base_->capabilities(); }
  Status Read(uint64_t offset, std::span<std::byte> buf) override {
    if (offset == gate_offset_ && buf.size() == 4096) {
      entered_.set_value();
      released_.wait();
    }
    return base_->Read(offset, buf);
  }
  Status Write(uint64_t offset, std::span<const std::byte> buf) override { return base_->Write(offset, buf); }
  Status Flush() override { return base_->Flush(); }
  std::future<void> entered() { return entered_.get_future(); }
  void Release() { release_.set_value(); }

 private:
  Volume* base_;
  const uint64_t gate_offset_;
  bool* destroyed_;
  std::promise<void> entered_, release_;
  std::shared_future<void> released_ = release_.get_future().share();
};

// A 4 KiB read of granule 70 held inside a GatedVolume source, while a crawling
// background copy (ascending from granule 0, 64 KiB/s) leaves that granule missing.
struct HeldRead {
  static constexpr uint64_t kOffset = 70 * kG + 4096;
  Fixture f;
  bool destroyed = false;
  GatedVolume* gate = nullptr;
  std::unique_ptr<LiveMigration> m;
  std::vector<std::byte> buf = std::vector<std::byte>(4096);
  Status read;
  std::thread reader;

  // Starts the migration with `o` (its rate made a crawl) and the read; returns once the
  // read is inside the source.
  void Start(MigrateOptions o) {
    auto gated = std::make_unique<GatedVolume>(f.src_base.get(), kOffset, &destroyed);
    gate = gated.get();
    std::future<void> entered = gate->entered();
    o.rate_limit = 64 << 10;
    auto started = LiveMigration::Start(std::move(gated), NewMemoryVolume("dst", kSize), nullptr, nullptr, o);
    ASSERT_TRUE(started.ok()) << started.status().message();
    m = std::move(started).value();
    reader = std::thread([this] { read = m->Read(kOffset, buf); });
    entered.wait();
  }
  // Lets the read go on and waits for its answer.
  void Release() {
    gate->Release();
    reader.join();
  }
  ~HeldRead() {
    if (reader.joinable()) Release();  // a test that failed before releasing it
  }
};

TEST(LiveTest, AReadThroughUnderWayKeepsTheSourceOpenAfterCompletion) {
  // Completion closes the source (its server may go). A read-through that was already
  // reading it when the last granule landed must finish on an open source, with the
  // right data, and the source closes after it.
  HeldRead h;
  h.Start(Opts(2));
  ASSERT_TRUE(h.m);
  h.m->SetRate(0);
  WaitComplete(*h.m);
  EXPECT_FALSE(h.destroyed) << "the source was closed under a read";
  h.Release();
  ASSERT_TRUE(h.read.ok()) << h.read.message();
  EXPECT_EQ(0, std::memcmp(h.buf.data(), h.f.expected.data() + HeldRead::kOffset, h.buf.size()));
  EXPECT_TRUE(h.destroyed);
  ASSERT_TRUE(h.m->Stop().ok());
}

TEST(LiveTest, ARequestIsRecordedWhenItArrivesNotWhenItIsAnswered) {
  // serve --record: a trace holds the times the application sent its requests. A read
  // that waits for the source is recorded before it is answered, so a replay of the
  // recording (fio, ferry simulate) sends it when the application did.
  std::promise<void> recorded;
  std::future<void> was_recorded = recorded.get_future();
  MigrateOptions o = Opts(2);
  o.on_request = [&](IoOp op, uint64_t offset, uint64_t length) {
    if (op == IoOp::kRead && offset == HeldRead::kOffset && length == 4096) recorded.set_value();
  };
  HeldRead h;
  h.Start(o);
  ASSERT_TRUE(h.m);
  EXPECT_EQ(was_recorded.wait_for(std::chrono::seconds(0)), std::future_status::ready)
      << "the read was not recorded before its answer";
  h.Release();
  ASSERT_TRUE(h.read.ok()) << h.read.message();
  ASSERT_TRUE(h.m->Stop().ok());
}

TEST(LiveTest, ASourceThatFailsIsAnErrorNeverWrongData) {
  Fixture f;
  MigrateOptions o = Paused(Opts(1));
  o.max_retries = 2;
  auto m = f.Start(o);
  ASSERT_TRUE(m.ok());
  f.src->FailRange(false, 60 * kG, kG, IoError("injected"));
  std::vector<std::byte> buf(4096);
  Status s = (*m)->Read(60 * kG + 10, buf);
  EXPECT_EQ(s.code(), StatusCode::kIoError) << s.message();
  // Once the source answers again, so does the read, with the right data.
  f.src->ClearFaults();
  ASSERT_TRUE((*m)->Read(60 * kG + 10, buf).ok());
  EXPECT_EQ(0, std::memcmp(buf.data(), f.expected.data() + 60 * kG + 10, buf.size()));
  EXPECT_GE((*m)->stats().read_errors, 1u);
}

TEST(LiveTest, AFlushThatChangedNothingWritesNoJournalSlot) {
  // Once complete, a client's flush costs the destination's flush alone (issue 13).
  TestTempDir tmp;
  Fixture f;
  const std::string jpath = tmp.Path("j");
  auto j = Journal::Create(jpath, JournalIdentity{"src", "dst", kSize, kG});
  ASSERT_TRUE(j.ok());
  MigrateOptions o = Opts(4);
  o.commit_interval = std::chrono::milliseconds(5);
  auto m = f.Start(o, std::move(j).value(), std::chrono::microseconds(0));
  ASSERT_TRUE(m.ok());
  WaitComplete(**m);
  ASSERT_TRUE((*m)->Flush().ok());
  const uint64_t before = Journal::Inspect(jpath)->generation;
  const uint64_t dst_flushes = f.dst->flushes();
  for (int i = 0; i < 50; ++i) ASSERT_TRUE((*m)->Flush().ok());
  EXPECT_EQ(Journal::Inspect(jpath)->generation, before);
  EXPECT_GE(f.dst->flushes(), dst_flushes + 50);  // the client's flushes still reach the disk
  ASSERT_TRUE((*m)->Stop().ok());
}

TEST(LiveTest, AFlushedWriteSurvivesACrashAndTheRestartFinishes) {
  // Invariants 5 and 6: crash the destination (unflushed writes lost) at a random point
  // after a flush; a restart with the journal must end with every flushed write.
  TestTempDir tmp;
  for (int round = 0; round < 4; ++round) {
    Fixture f;
    const std::string jpath = tmp.Path("j" + std::to_string(round));
    JournalIdentity id{"src", "dst", kSize, kG};
    auto j = Journal::Create(jpath, id);
    ASSERT_TRUE(j.ok());
    auto m = f.Start(Opts(4), std::move(j).value(), std::chrono::microseconds(1000));
    ASSERT_TRUE(m.ok());
    std::mt19937_64 rng(round);
    for (int i = 0; i < 40; ++i) {
      const uint64_t len = 1 + rng() % (2 * kG);
      const uint64_t off = rng() % (kSize - len);
      const auto data = Random(len, static_cast<uint32_t>(round * 100 + i));
      ASSERT_TRUE((*m)->Write(off, data, false).ok());
      f.Apply(off, data);
    }
    ASSERT_TRUE((*m)->Flush().ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 30));
    f.dst->CrashAfterWrites(0);  // the machine stops: nothing more reaches the disk
    (void)(*m)->Stop();
    ASSERT_TRUE(f.dst->Crash().ok());
    m->reset();
    // Restart: a new migration over the same volumes and journal.
    auto j2 = Journal::Open(jpath, id);
    ASSERT_TRUE(j2.ok()) << j2.status().message();
    auto m2 = f.Start(Opts(4), std::move(j2).value(), std::chrono::microseconds(0));
    ASSERT_TRUE(m2.ok());
    WaitComplete(**m2);
    ASSERT_TRUE((*m2)->Stop().ok());
    ASSERT_EQ(ReadAll(*f.dst_base), f.expected) << "round " << round;
  }
}

// Issue 13: a destination error (here ENOSPC) goes to the request that hit it, pauses
// the background copy with the reason in status, and only the operator's resume
// continues; the journal never says present what did not land. `async`: the copies'
// writes fail later, from the destination's thread.
void AFullDestinationPausesTheCopy(bool async) {
  TestTempDir tmp;
  Fixture f;
  const std::string jpath = tmp.Path("j");
  auto j = Journal::Create(jpath, JournalIdentity{"src", "dst", kSize, kG});
  ASSERT_TRUE(j.ok());
  auto m = f.Start(Opts(2), std::move(j).value(), std::chrono::microseconds(300), async);
  ASSERT_TRUE(m.ok());
  f.dst->FailRange(true, 0, kSize, Status(StatusCode::kNoSpace, "dst: No space left on device"));
  for (int i = 0; i < 2000 && !(*m)->stats().paused; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  LiveStats st = (*m)->stats();
  ASSERT_TRUE(st.paused);
  EXPECT_NE(st.paused_reason.find("No space left"), std::string::npos) << st.paused_reason;
  EXPECT_NE(st.paused_reason.find("make room"), std::string::npos) << st.paused_reason;
  EXPECT_NE(st.paused_reason.find("ferry control " + jpath + " resume"), std::string::npos) << st.paused_reason;
  EXPECT_EQ(st.destination_pauses, 1u);
  // An application write gets the error; a read of missing data is still answered.
  const auto data = Random(2 * kG, 99);
  const uint64_t off = 100 * kG;  // present or not, the write fails and the read is answered
  Status w = (*m)->Write(off - kG, data, false);
  EXPECT_EQ(w.code(), StatusCode::kNoSpace) << w.message();
  std::vector<std::byte> buf(4096);
  ASSERT_TRUE((*m)->Read(off + 100, buf).ok());
  EXPECT_EQ(0, std::memcmp(buf.data(), f.expected.data() + off + 100, buf.size()));
  // Room is made: nothing moves until the operator says so. (The copies sent before the
  // pause may end after it: they are waited for first.)
  for (int i = 0; i < 2000 && (*m)->stats().copies_under_way > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ((*m)->stats().copies_under_way, 0u);
  const uint64_t present = (*m)->stats().present_bytes;
  ASSERT_LT(present, kSize);
  f.dst->ClearFaults();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE((*m)->stats().paused);
  EXPECT_EQ((*m)->stats().present_bytes, present);
  // Every granule the journal records present holds the source's data on the destination.
  {
    auto info = Journal::Inspect(jpath);
    ASSERT_TRUE(info.ok());
    EXPECT_LE(info->present_bytes, present);
  }
  (*m)->Pause(false);
  WaitComplete(**m);
  EXPECT_TRUE((*m)->stats().paused_reason.empty());
  ASSERT_TRUE((*m)->Stop().ok());
  ASSERT_EQ(ReadAll(*f.dst_base), f.expected);
}

TEST(LiveTest, AFullDestinationPausesTheCopyUntilResumedAndTheJournalKeepsOnlyWhatLanded) {
  AFullDestinationPausesTheCopy(false);
}

TEST(LiveTest, AFullDestinationAnsweringOutOfOrderPausesTheCopyAndTheJournalKeepsOnlyWhatLanded) {
  AFullDestinationPausesTheCopy(true);
}

}  // namespace
}  // namespace ferry
