// The results of `ferry simulate` as text, as JSON, as a table (one row per policy and predictor, for the
// terminal and the report alike) and as a self-contained HTML report: the scenario, the
// tables, and the read latency, stall and progress charts.
#pragma once

#include <string>
#include <vector>

#include "sim/simulator.h"

namespace ferry::report {

// What ran, beside the resolved scenario: the trace and the latencies as the user gave
// them (e.g. "2ms").
struct SimRunInfo {
  std::string trace;
  uint32_t device = 0;
  std::string source_latency, dest_latency;
  std::string source;  // --source: the volume whose data the scenario copies ("" none)
};

const std::vector<std::string>& SimTableHeader();
// One result's row under SimTableHeader(); `volume`: for the source/volume ratio.
std::vector<std::string> SimTableRow(const SimResult& r, uint64_t volume);

// The terminal's text: the scenario in two or three lines, then the table.
std::string SimulateText(const SimRunInfo& run, const ResolvedScenario& scenario, const std::vector<SimResult>& results);
// One JSON object: {"scenario": {...}, "results": [{...}, ...]} (docs/cli.md).
std::string SimulateJson(const SimRunInfo& run, const ResolvedScenario& scenario, const std::vector<SimResult>& results);

std::string SimulateReport(const SimRunInfo& run, const ResolvedScenario& scenario,
                           const std::vector<SimResult>& results);

}  // namespace ferry::report
