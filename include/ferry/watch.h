// ferry/watch.h: a watched source, the engine behind `ferry watch SRC` (DESIGN.md
// "History"): an NBD export of the source itself, nothing copied, that records the
// workload aimed at it (--record) and keeps its heat (ferry status, --report), for the
// days before a move. Reads and writes go to the source.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ferry/export.h"
#include "ferry/io_event.h"
#include "ferry/status.h"
#include "ferry/volume.h"

namespace ferry {

struct WatchOptions {
  std::string record;       // write every request here as a trace (fio iolog v3); "" none
  std::string status;       // write WatchStatusJson here, atomically, every second; "" none
  uint64_t granule_size = 64 << 10;  // the heat's unit
  // Requests kept in memory for the report (WatchedSource::events); later ones are
  // counted, recorded, and left out of it.
  size_t max_events = 20'000'000;
};

struct WatchStats {
  std::string source;
  uint64_t volume_size = 0, granule_size = 0;
  double seconds = 0;
  uint64_t reads = 0, writes = 0, read_bytes = 0, write_bytes = 0, errors = 0;
  uint64_t touched_granules = 0;  // granules accessed at least once
  uint64_t recorded = 0;          // requests written to --record
  uint64_t events_dropped = 0;    // requests beyond max_events (not in the report)
  struct Hot {
    uint64_t offset = 0, length = 0, accesses = 0;
  };
  std::vector<Hot> hottest;  // the most accessed granules, busiest first (at most 10)
};

class WatchedSource final : public Export {
 public:
  // Serves `source` (opened writable by the caller). Errors: the record or status file.
  static Result<std::unique_ptr<WatchedSource>> Start(std::unique_ptr<Volume> source, const WatchOptions& options);
  ~WatchedSource() override;

  uint64_t size() const override;
  Status Read(uint64_t offset, std::span<std::byte> buf) override;
  Status Write(uint64_t offset, std::span<const std::byte> buf, bool fua) override;
  Status Zero(uint64_t offset, uint64_t length, bool fua) override;
  Status Trim(uint64_t offset, uint64_t length, bool fua) override;
  Status Flush() override;
  Status Extents(uint64_t offset, uint64_t length, std::vector<Extent>* out) override;
  void Cache(uint64_t, uint64_t) override {}

  WatchStats stats() const;
  // The requests so far (times since the start), for a heat profile.
  std::vector<IoEvent> events() const;
  // Stops the status thread, writes the last status and ends the recording. Idempotent.
  Status Stop();

 private:
  struct Impl;
  explicit WatchedSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The status file's JSON ("watch": true tells `ferry status` what it reads).
std::string WatchStatusJson(const WatchStats& st, bool running);
// A watch's status file as read back.
struct WatchStatusRecord {
  bool running = false;  // the watch was running when it was written
  WatchStats stats;
};
// kNotFound when `path` is missing or not a watch's status file (not JSON, or JSON
// without "watch": true), kCorrupt when a field has the wrong type; a missing field
// keeps its default.
Result<WatchStatusRecord> ReadWatchStatus(const std::string& path);
// What `ferry status FILE` prints for it, one figure per line.
std::string WatchStatusText(const WatchStatusRecord& status);
// One line for the end of a watch.
std::string WatchSummary(const WatchStats& st, const std::string& record);

}  // namespace ferry
