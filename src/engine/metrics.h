// Live figures in Prometheus's text exposition format, for the operators' own
// monitoring: `ferry serve --metrics FILE` rewrites FILE atomically every second, as
// node_exporter's textfile collector expects (a fleet of migrations is then scraped with
// the tools operators already run). Every series carries the journal as a label, so the
// files of several migrations can sit in one collector directory.
#pragma once

#include <string>

#include "ferry/live.h"
#include "ferry/status.h"

namespace ferry {

// The figures of `st` as Prometheus text (version 0.0.4): one HELP and TYPE line per
// metric, then its samples, labelled journal="JOURNAL".
std::string PrometheusMetrics(const LiveStats& st, const std::string& journal);
// Replaces the file at `path` with them, atomically.
Status WriteMetrics(const std::string& path, const LiveStats& st, const std::string& journal);

}  // namespace ferry
