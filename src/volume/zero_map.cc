#include "volume/zero_map.h"

namespace ferry {

Status ReadZeroMap(Volume& volume, IntervalSet* zero) {
  if (!volume.capabilities().extents_report_zero) return OkStatus();
  std::vector<Extent> extents;
  FERRY_RETURN_IF_ERROR(volume.Extents(0, volume.size(), &extents).WithContext("reading the allocation map"));
  for (const Extent& e : extents) {
    if (e.zero) zero->Add(e.offset, e.length);
  }
  return OkStatus();
}

}  // namespace ferry
