// CompanionPaths (see self_path.h).
#include "common/self_path.h"

#include <dlfcn.h>

#include <filesystem>
#include <string_view>

namespace ferry {

std::vector<std::string> CompanionPaths(const std::string& file) {
  // For the main program dladdr gives argv[0], a bare name when it was found on PATH.
  Dl_info info;
  std::string here = "/proc/self/exe";
  if (dladdr(reinterpret_cast<void*>(&CompanionPaths), &info) && info.dli_fname &&
      std::string_view(info.dli_fname).find('/') != std::string_view::npos) {
    here = info.dli_fname;
  }
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::canonical(here, ec);
  if (ec) return {};
  return {(self.parent_path() / file).string(), (self.parent_path().parent_path() / "lib" / "ferry" / file).string()};
}

}  // namespace ferry
