// serve/nbdkit_process.h: nbdkit with ferry's plugin, run as a child process of
// `ferry serve` and `ferry watch`: finding the plugin, clearing a socket a killed
// server left, passing a sanitizer's runtime on, and supervising the server (signals
// passed on, restarts after a crash).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ferry/status.h"

namespace ferry {

constexpr const char* kPluginFile = "nbdkit-ferry-plugin.so";

// The plugin: $FERRY_NBDKIT_PLUGIN, else beside the running binary (or its build
// folder). "" when there is none.
std::string FindPlugin();

// A Unix socket left by a server that was killed is removed (nbdkit will not bind over
// it). kFailedPrecondition when a live server listens on it; kInvalidArgument when the
// path is something else or too long.
Status ClearStaleSocket(const std::string& path);

// A sanitizer build of ferry (scripts/test) has a sanitized plugin, which only loads
// into nbdkit with the sanitizer's runtime first: preloads the one this process runs
// with, for the children it starts. The plugin puts LD_PRELOAD back as it was
// (FERRY_SAVED_LD_PRELOAD) when it loads, so that --run's command does not start with
// the runtime (/bin/sh crashes under it). Does nothing in other builds.
void PreloadSanitizerRuntime();

// Paths become absolute (nbdkit may change directory); NBD URIs stay as they are.
std::string AbsolutePath(const std::string& spec);

// Where and how nbdkit serves (ferry serve's and ferry watch's flags of those names).
struct NbdkitEndpoint {
  std::string socket;  // --unix PATH
  std::string listen;  // TCP HOST:PORT: needs TLS credentials or `insecure`
  std::string run;     // --run CMD (captive mode); alone, on a private socket
  std::string tls_certificates, tls_psk;  // a directory of X.509 files, or a PSK file
  bool insecure = false;
  bool verbose = false;
};
// nbdkit's command line up to and including the plugin's path. A socket left by a
// killed server is removed. kInvalidArgument for flags that do not go together or do
// not parse (a usage error, naming the flag); kFailedPrecondition for a socket a live
// server holds; kNotFound when the plugin is nowhere to be found.
Result<std::vector<std::string>> NbdkitCommand(const NbdkitEndpoint& endpoint);

struct SuperviseOptions {
  // Start the server again after it crashes (at most 5 times a minute): for a socket
  // served with no --run, whose clients reconnect. Its record=FILE goes on in FILE.N.
  bool restart = false;
  std::string unix_socket;  // removed before a restart (its server is gone); "" none
  std::function<void(const std::string&)> note;  // what happened, for the operator
};

// Runs `args` (nbdkit's command line) as a child until it ends, passing SIGINT, SIGTERM
// and SIGHUP on to it; the child dies with this process. Returns its exit status (128 +
// the signal when killed), or kNotFound when nbdkit could not be run at all.
Result<int> SuperviseNbdkit(std::vector<std::string> args, const SuperviseOptions& options);

}  // namespace ferry
