// Internal: constructors of the volume backends, called by OpenVolume().
#pragma once

#include <memory>
#include <string>

#include "ferry/volume.h"

namespace ferry {

Result<std::unique_ptr<Volume>> OpenFileVolume(const std::string& path, const OpenOptions& options);
Result<std::unique_ptr<Volume>> OpenNbdVolume(const std::string& uri, const OpenOptions& options);

}  // namespace ferry
