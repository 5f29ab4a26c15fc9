// ferry/policy.h: the copy policies a migration or a simulation can run
// (DESIGN.md "Evaluation"; src/sched/scheduler.h has what each does).
#pragma once

#include <string>

#include "ferry/status.h"

namespace ferry {

enum class Policy { kDmClone, kQemuStream, kHeat, kAdaptive, kClairvoyant };
// "dmclone", "qemu-stream", "heat", "adaptive", "clairvoyant".
const char* PolicyName(Policy p);
Result<Policy> ParsePolicy(const std::string& name);

}  // namespace ferry
