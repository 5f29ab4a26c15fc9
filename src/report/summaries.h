// What `ferry migrate`, `ferry verify` and `ferry status JOURNAL` print, as text for a
// terminal and as JSON for a program (docs/cli.md gives both). Built from the library's
// typed results; the command line only prints them.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/live_status.h"
#include "ferry/engine.h"

namespace ferry::report {

// A copy's or a verify's progress: "[=========>          ]  45.2%  463 MiB / 1.00 GiB
// 812 MiB/s  ETA 0:01" with `width` columns of bar, or one JSON line
// {"type":"progress","phase":...,"done_bytes":...,"percent":...,...}.
std::string FormatProgressBar(const Progress& p, int width = 30);
nlohmann::json ProgressJson(const Progress& p, const char* phase);

// A finished copy: what was copied where, and with which predictor.
struct MigrateRunInfo {
  std::string source, destination;
  std::string predictor = "none";
  uint64_t granule_size = 0;
};
// The summary object of `ferry migrate --json` ("verify" null and "source_released"
// false until a verify fills them in).
nlohmann::json MigrateSummaryJson(const MigrateRunInfo& run, const MigrateStats& st);
// Its text: "migrated SRC to DST: ... in 1.20 s (850 MiB/s)" and the details below.
std::string MigrateSummaryText(const MigrateRunInfo& run, const MigrateStats& st);

// A verify's outcome: {"equal", "differing": [{offset, length}...], ...}.
nlohmann::json VerifyJson(const VerifyResult& v);
// The differing ranges, one per line, under a heading.
std::string VerifyDiffsText(const VerifyResult& v);
// `ferry verify`'s line for equal volumes of `volume_size` bytes.
std::string VerifyEqualText(const VerifyResult& v, uint64_t volume_size);

// A rerun of a migration that is over (its journal in `state`): nothing to do.
nlohmann::json NothingToDoJson(const MigrateRunInfo& run, const char* state);
std::string NothingToDoText(const std::string& journal);

// `ferry status JOURNAL`: the journal's figures and, while `ferry serve` runs on it, the
// live ones.
std::string MigrationStatusText(const MigrationStatus& st);
std::string MigrationStatusJson(const MigrationStatus& st);

}  // namespace ferry::report
