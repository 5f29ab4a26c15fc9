// Policy names (ferry/policy.h).
#include "ferry/policy.h"

namespace ferry {

const char* PolicyName(Policy p) {
  switch (p) {
    case Policy::kDmClone: return "dmclone";
    case Policy::kQemuStream: return "qemu-stream";
    case Policy::kHeat: return "heat";
    case Policy::kAdaptive: return "adaptive";
    case Policy::kClairvoyant: return "clairvoyant";
  }
  return "?";
}

Result<Policy> ParsePolicy(const std::string& name) {
  for (Policy p : {Policy::kDmClone, Policy::kQemuStream, Policy::kHeat, Policy::kAdaptive, Policy::kClairvoyant}) {
    if (name == PolicyName(p)) return p;
  }
  return InvalidArgument("unknown policy '" + name + "': use dmclone, qemu-stream, heat, adaptive or clairvoyant");
}

}  // namespace ferry
