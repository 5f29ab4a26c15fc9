// ReadZeroMap: which ranges of a volume are known to read as zeroes, from its
// allocation extents. Empty when the volume cannot tell (capabilities().extents_report_zero
// is false), so callers treat unknown as data.
#pragma once

#include "common/interval_set.h"
#include "ferry/volume.h"

namespace ferry {

Status ReadZeroMap(Volume& volume, IntervalSet* zero);

}  // namespace ferry
