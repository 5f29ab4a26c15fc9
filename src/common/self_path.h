// Where ferry's companion files are: beside the ferry binary (the build tree) or in
// ../lib/ferry from it (an install), for the LSTM library and the nbdkit plugin.
#pragma once

#include <string>
#include <vector>

namespace ferry {

// Candidate paths of `file`, best first: beside the object that holds this code (the
// ferry binary, or a plugin that links it), then ../lib/ferry/ from there. Empty when
// that object cannot be found.
std::vector<std::string> CompanionPaths(const std::string& file);

}  // namespace ferry
