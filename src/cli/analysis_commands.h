// `ferry heat` and `ferry simulate`: what a workload looks like, and how each copy
// policy would serve it during a migration.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace ferry::cli {

// Each adds its command to `app`; *run is set to the function to call (returning the
// exit code) when the command is chosen.
void AddHeatCommand(CLI::App& app, std::function<int()>* run);
void AddSimulateCommand(CLI::App& app, std::function<int()>* run);
// `ferry train` (model_commands.cc).
void AddTrainCommand(CLI::App& app, std::function<int()>* run);
void AddServeCommand(CLI::App& app, std::function<int()>* run);    // serve_command.cc
void AddWatchCommand(CLI::App& app, std::function<int()>* run);    // serve_command.cc
void AddControlCommand(CLI::App& app, std::function<int()>* run);  // serve_command.cc

}  // namespace ferry::cli
