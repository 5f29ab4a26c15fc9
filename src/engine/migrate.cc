// Migrate: the bulk copy, and LiveMigration, the live one: the public faces
// (ferry/engine.h, ferry/live.h) of the engine's core (engine/migration.h), with the
// checks and the opening of what a migration needs.
#include <algorithm>
#include <bit>
#include <thread>

#include <fmt/format.h>

#include "engine/migration.h"
#include "ferry/units.h"

namespace ferry {

int DefaultCopyThreads() { return static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 2u, 16u)); }

void SetChunkRange(MigrateOptions* o, uint64_t min_chunk, uint64_t max_chunk) {
  o->min_chunk = min_chunk ? min_chunk : o->granule_size;
  o->max_chunk = max_chunk ? max_chunk : std::max(MigrateOptions{}.max_chunk, o->min_chunk);
}

Status ValidateMigrateOptions(const MigrateOptions& o) {
  if (!std::has_single_bit(o.granule_size) || o.granule_size < 4096) {
    return InvalidArgument("--granule " + std::to_string(o.granule_size) +
                           ": must be a power of two of at least 4K (e.g. 64K)");
  }
  if (o.min_chunk < o.granule_size) return InvalidArgument("--min-chunk must be at least the granule size");
  if (o.max_chunk < o.min_chunk) return InvalidArgument("--max-chunk must be at least --min-chunk");
  if (o.max_chunk > (1ull << 30)) return InvalidArgument("--max-chunk must be at most 1G");
  if (o.threads < 1 || o.threads > 256) return InvalidArgument("--threads must be between 1 and 256");
  if (o.max_in_flight < 1 || o.max_in_flight > 4096) return InvalidArgument("--requests must be between 1 and 4096");
  // The policy rules (ferry/policy.h): the engine runs what ChoosePolicy allows.
  if (o.policy == Policy::kClairvoyant) {
    return InvalidArgument("policy clairvoyant needs the future: only ferry simulate runs it");
  }
  if ((o.predictor || o.make_predictor) && !PolicyTakesPredictions(o.policy)) {
    return InvalidArgument(std::string("policy ") + PolicyName(o.policy) + " takes no predictions");
  }
  return OkStatus();
}

Result<MigrateStats> Migrate(Volume& source, Volume& destination, Journal* journal, const MigrateOptions& options) {
  FERRY_RETURN_IF_ERROR(ValidateMigrateOptions(options));
  // The caller owns the source: a non-owning pointer.
  Migration m(std::shared_ptr<Volume>(std::shared_ptr<Volume>(), &source), destination, journal, options);
  return m.Run();
}

Status ReleaseSource(Volume& source) {
  constexpr uint64_t kStep = 1ull << 30;
  for (uint64_t off = 0; off < source.size(); off += kStep) {
    FERRY_RETURN_IF_ERROR(source.Trim(off, std::min(kStep, source.size() - off)));
  }
  return source.Flush();
}

Result<ConcludeResult> VerifyAndRelease(std::unique_ptr<Volume> source, Volume& destination,
                                        const ConcludeOptions& options) {
  ConcludeResult out;
  auto v = Verify(*source, destination, options.verify);
  if (!v.ok()) return v.status().WithContext("verify");
  out.verify = std::move(v).value();
  if (!out.verify.equal) return out;
  if (options.record) FERRY_RETURN_IF_ERROR(options.record(JournalState::kVerified));
  if (!options.release) return out;
  if (!options.refuse_release.empty()) {
    out.release_refused = options.refuse_release;
    return out;
  }
  source.reset();  // the read-only handle goes before the source is opened for the release
  OpenOptions w = options.source_open;
  w.writable = true;
  auto rw = OpenVolume(options.source_spec, w);
  Status s = rw.ok() ? ReleaseSource(**rw) : rw.status();
  if (!s.ok()) return s.WithContext("releasing the source (the destination is complete)");
  out.released = true;
  if (options.record) FERRY_RETURN_IF_ERROR(options.record(JournalState::kReleased));
  return out;
}

// ---- LiveMigration ----

struct LiveMigration::Impl {
  std::unique_ptr<Volume> dst;
  std::unique_ptr<Journal> journal;
  std::shared_ptr<Predictor> predictor;
  MigrateOptions options;
  std::unique_ptr<Migration> m;
};

LiveMigration::LiveMigration(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LiveMigration::~LiveMigration() {
  if (impl_) (void)Stop();  // a failed final commit leaves the last good one: resumable
}

Result<std::unique_ptr<LiveMigration>> LiveMigration::Start(std::unique_ptr<Volume> source,
                                                            std::unique_ptr<Volume> destination,
                                                            std::unique_ptr<Journal> journal,
                                                            std::shared_ptr<Predictor> predictor,
                                                            const MigrateOptions& options,
                                                            std::function<void()> on_complete) {
  MigrateOptions checked = options;
  checked.predictor = predictor.get();
  FERRY_RETURN_IF_ERROR(ValidateMigrateOptions(checked));
  auto impl = std::make_unique<Impl>();
  impl->dst = std::move(destination);
  impl->journal = std::move(journal);
  impl->predictor = std::move(predictor);
  impl->options = options;
  impl->options.cancel = nullptr;
  impl->options.on_progress = nullptr;
  impl->options.predictor = impl->predictor.get();
  impl->m = std::make_unique<Migration>(std::shared_ptr<Volume>(std::move(source)), *impl->dst, impl->journal.get(),
                                        impl->options, /*live=*/true);
  MigrateStats prepared;
  FERRY_RETURN_IF_ERROR(impl->m->Prepare(&prepared));
  impl->options.history = nullptr;  // learnt: the caller's events are not kept
  // Once complete, requests never reach the source (every granule is present and stays
  // so; the workers have ended): it is closed, so its server may go, once a reader
  // already under way is done with it.
  Impl* raw = impl.get();
  impl->m->StartLive([raw, on_complete = std::move(on_complete)] {
    raw->m->DropSource();
    if (on_complete) on_complete();
  });
  return std::unique_ptr<LiveMigration>(new LiveMigration(std::move(impl)));
}

uint64_t LiveMigration::size() const { return impl_->m->size(); }
VolumeCapabilities LiveMigration::destination_capabilities() const { return impl_->dst->capabilities(); }
Status LiveMigration::Read(uint64_t offset, std::span<std::byte> buf) { return impl_->m->Read(offset, buf); }
Status LiveMigration::Write(uint64_t offset, std::span<const std::byte> buf, bool fua) {
  return impl_->m->Write(offset, buf, fua);
}
Status LiveMigration::Zero(uint64_t offset, uint64_t length, bool fua) { return impl_->m->Zero(offset, length, fua); }
Status LiveMigration::Trim(uint64_t offset, uint64_t length, bool fua) { return impl_->m->Trim(offset, length, fua); }
Status LiveMigration::Flush() { return impl_->m->Flush(); }
Status LiveMigration::Extents(uint64_t offset, uint64_t length, std::vector<Extent>* out) {
  return impl_->m->Extents(offset, length, out);
}
void LiveMigration::Cache(uint64_t offset, uint64_t length) { impl_->m->Cache(offset, length); }
void LiveMigration::Pause(bool paused) { impl_->m->Pause(paused); }
void LiveMigration::SetRate(uint64_t bytes_per_second) { impl_->m->SetRate(bytes_per_second); }
LiveStats LiveMigration::stats() const { return impl_->m->Stats(); }
LiveHistory LiveMigration::history() const { return impl_->m->History(); }
bool LiveMigration::Written(uint64_t offset, uint64_t length) const { return impl_->m->written().Any(offset, length); }
std::string LiveMigration::WrittenUnknown() const { return impl_->m->written().unknown_reason(); }
Status LiveMigration::RecordState(JournalState state) { return impl_->m->RecordState(state); }
void LiveMigration::SetConclusion(std::string conclusion) { impl_->m->SetConclusion(std::move(conclusion)); }

namespace {
// LiveMigration::View: the destination, read-only (once complete, it is the volume).
class ReadOnlyView final : public Volume {
 public:
  explicit ReadOnlyView(Volume& v) : v_(v) {}
  const std::string& name() const override { return v_.name(); }
  uint64_t size() const override { return v_.size(); }
  VolumeCapabilities capabilities() const override { return {}; }
  Status Read(uint64_t offset, std::span<std::byte> buf) override { return v_.Read(offset, buf); }
  Status Write(uint64_t, std::span<const std::byte>) override { return NotSupported(v_.name() + " is read-only here"); }
  Status Flush() override { return OkStatus(); }
  Status Extents(uint64_t offset, uint64_t length, std::vector<Extent>* out) override {
    return v_.Extents(offset, length, out);
  }

 private:
  Volume& v_;
};
}  // namespace

std::unique_ptr<Volume> LiveMigration::View() {
  if (!stats().complete) return nullptr;
  return std::make_unique<ReadOnlyView>(*impl_->dst);
}
Status LiveMigration::Stop() { return impl_->m->StopLive(); }

Result<OpenedMigration> OpenMigration(const std::string& source, const std::string& destination,
                                      const std::string& journal, uint64_t granule_size,
                                      std::chrono::milliseconds source_timeout, bool bulk_copy) {
  if (SameVolume(source, destination) || VolumeIdentity(source) == VolumeIdentity(destination)) {
    return InvalidArgument("SRC and DST are the same volume (" + source + "): give a different destination");
  }
  OpenedMigration m;
  OpenOptions src_options;
  src_options.reconnect_timeout = source_timeout;
  auto src = OpenVolume(source, src_options);
  if (!src.ok()) return src.status().WithContext("source");
  m.source = std::move(src).value();
  const uint64_t size = m.source->size();
  JournalIdentity id{VolumeIdentity(source), VolumeIdentity(destination), size, granule_size};
  if (!journal.empty() && Journal::Exists(journal)) {
    auto j = Journal::Open(journal, id);
    if (!j.ok()) return j.status();
    m.journal = std::move(j).value();
  } else if (!journal.empty()) {
    FERRY_RETURN_IF_ERROR(Journal::CheckCreatable(journal));
  }
  OpenOptions dst_options;
  dst_options.writable = true;
  dst_options.create_size = size;
  dst_options.evict_written = bulk_copy;
  auto dst = OpenVolume(destination, dst_options);
  if (!dst.ok()) return dst.status().WithContext("destination");
  m.destination = std::move(dst).value();
  if (m.destination->size() < size) {
    return FailedPrecondition(fmt::format("destination {} is {} ({} bytes), smaller than the source {} ({} bytes); "
                                          "use a destination of at least {} bytes",
                                          destination, FormatSize(m.destination->size()), m.destination->size(),
                                          source, FormatSize(size), size, size));
  }
  if (!journal.empty() && !m.journal) {
    auto j = Journal::Create(journal, id);
    if (!j.ok()) return j.status();
    m.journal = std::move(j).value();
  }
  return m;
}

}  // namespace ferry
