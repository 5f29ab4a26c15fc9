// The HTML heat report of a workload (`ferry heat --report`, `ferry watch --report`):
// accesses by offset and time, hot/warm/cold bytes over time, the hottest ranges.
#pragma once

#include <cstdint>
#include <string>

#include "heat/profile.h"

namespace ferry::report {

// `title`: the page's; `what`: an HTML sentence naming the workload (escaped already).
std::string HeatReport(const std::string& title, const std::string& what, const HeatProfile& profile,
                       const HeatProfileOptions& options);

// What `ferry heat` ran on, beside the profile: the trace, and the window and slide as
// the user gave them (e.g. "60s").
struct HeatRunInfo {
  std::string trace;
  uint32_t device = 0;
  std::string window, slide;
  std::string report;  // the HTML report written ("" none)
};
// The terminal's text: the trace, the classes at the end and at their peak, the
// hottest ranges.
std::string HeatText(const HeatRunInfo& run, const HeatProfile& profile, const HeatProfileOptions& options);
// One JSON object (docs/cli.md "heat").
std::string HeatJson(const HeatRunInfo& run, const HeatProfile& profile, const HeatProfileOptions& options);

}  // namespace ferry::report
