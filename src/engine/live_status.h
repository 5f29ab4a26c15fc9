// The live status file of a running `ferry serve` (JOURNAL.live by default): a small
// JSON object rewritten atomically every second, read by `ferry status JOURNAL`. Also
// the one-line summary `ferry serve` prints when it ends.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "ferry/journal.h"
#include "ferry/live.h"
#include "ferry/status.h"

namespace ferry {

// The status path for a journal when none is given.
std::string LiveStatusPath(const std::string& journal);

nlohmann::json LiveStatusJson(const LiveStats& st, const std::string& predictor, const std::string& policy,
                              bool running);
// Replaces the file at `path` with `text`: written beside it and renamed, so a reader
// never sees half. `what` names the file in the error ("the status file").
Status WriteFileAtomically(const std::string& path, const std::string& text, const std::string& what);
// Writes the status file (atomically).
Status WriteLiveStatus(const std::string& path, const LiveStats& st, const std::string& predictor,
                       const std::string& policy, bool running);
// Reads one; kNotFound when there is none.
Result<nlohmann::json> ReadLiveStatus(const std::string& path);

// A status file of `ferry serve` as read back: what LiveStatusJson wrote.
struct LiveStatusRecord {
  bool running = false;  // the serve was running when it was written
  std::string policy, predictor;
  LiveStats stats;
};
// kCorrupt when a field has the wrong type; a missing one keeps its default.
Result<LiveStatusRecord> LiveStatusOf(const nlohmann::json& status);

// A migration's status as `ferry status JOURNAL` shows it: the journal's figures, and
// the live ones of a `ferry serve` running on it (from its status file).
struct MigrationStatus {
  std::string journal;  // the journal's path
  JournalInfo info;
  std::optional<LiveStatusRecord> live;  // while a serve runs on it
  nlohmann::json live_json;              // the live status file as it was written
};
// Errors: the journal's (Journal::Inspect). A live status file that cannot be read is
// left out.
Result<MigrationStatus> ReadMigrationStatus(const std::string& journal);

// "migrated 40.0 MiB of 1.00 GiB (3.9%) in 2.1 s; 120 reads (3 waited), 50 writes; journal J"
std::string LiveSummary(const LiveStats& st, const std::string& journal);

// Rewrites the status file every `interval` from a thread of its own, until destroyed,
// and the Prometheus metrics file (engine/metrics.h) when `metrics_path` is not empty.
class StatusWriter {
 public:
  StatusWriter(std::string path, const LiveMigration& live, std::string predictor, std::string policy,
               std::string metrics_path = {}, std::string journal = {},
               std::chrono::milliseconds interval = std::chrono::milliseconds(1000));
  ~StatusWriter();

 private:
  void Run();
  const std::string path_, predictor_, policy_, metrics_path_, journal_;
  const LiveMigration& live_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ferry
