// The HTML heat report of a workload (`ferry heat --report`, `ferry watch --report`):
// accesses by offset and time, hot/warm/cold bytes over time, the hottest ranges.
#pragma once

#include <string>

#include "heat/profile.h"

namespace ferry::report {

// `title`: the page's; `what`: an HTML sentence naming the workload (escaped already).
std::string HeatReport(const std::string& title, const std::string& what, const HeatProfile& profile,
                       const HeatProfileOptions& options);

}  // namespace ferry::report
