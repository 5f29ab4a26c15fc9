// WrittenSet: the granules the application wrote during a live migration. They hold
// the application's data, not the source's, so the verify at a live migration's end
// skips them (serve --verify --release-source). Kept beside the journal in
// JOURNAL.written, saved before each journal commit, so a restarted `ferry serve`
// still knows them. A write that lands after the last save and before a crash is not
// in the file: its granule then differs in the verify, which refuses the release;
// never the other way round. Thread-safe.
#pragma once

#include <cstdint>
#include <cstddef>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ferry/status.h"

namespace ferry {

class WrittenSet {
 public:
  WrittenSet(uint64_t volume_size, uint64_t granule_size);
  ~WrittenSet();
  WrittenSet(const WrittenSet&) = delete;
  WrittenSet& operator=(const WrittenSet&) = delete;

  // The file beside a journal.
  static std::string PathFor(const std::string& journal) { return journal + ".written"; }

  // Reads the set from `path`. `had_progress`: the journal records progress from an
  // earlier run, so a missing or unreadable file leaves the set unknown (unknown_reason
  // says why); without progress, no file means nothing was written.
  void Load(const std::string& path, bool had_progress);
  // Saves the set to `path` if it changed since the last save: the first time the
  // whole file, renamed in; then in place, the changed words and the checksum. Never
  // fsynced: it costs a client's flush nothing (a power cut may damage it, which makes
  // it unknown, not wrong).
  Status Save(const std::string& path);

  void Mark(uint64_t offset, uint64_t length);
  // Whether any granule of [offset, offset + length) was written.
  bool Any(uint64_t offset, uint64_t length) const;
  // Empty when the set is complete; else why it is not.
  std::string unknown_reason() const;

 private:
  // The granules [first, end) that [offset, offset + length) touches.
  std::pair<uint64_t, uint64_t> Granules(uint64_t offset, uint64_t length) const;

  const uint64_t volume_size_, granule_size_;
  mutable std::mutex mu_;
  std::vector<uint64_t> words_;  // guarded by mu_
  bool dirty_ = false;           // guarded by mu_
  size_t dirty_lo_ = SIZE_MAX, dirty_hi_ = 0;  // words changed since the last save; guarded by mu_
  std::string unknown_;          // guarded by mu_
  int fd_ = -1;                  // the file, once saved whole; guarded by mu_
  std::string fd_path_;          // guarded by mu_
};

}  // namespace ferry
