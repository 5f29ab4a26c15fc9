// `ferry trace info` and `ferry trace convert`.
#pragma once

#include <CLI/CLI.hpp>

namespace ferry::cli {

// Adds the `trace` command and its subcommands to `app`; *run is set to the function
// to call (returning the exit code) when one of them is chosen.
void AddTraceCommands(CLI::App& app, std::function<int()>* run);

}  // namespace ferry::cli
