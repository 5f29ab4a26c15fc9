// A synthetic workload with known structure (`ferry trace synth`): the project ships no
// third-party traces, so its tests and demo use these.
//
// Requests arrive at `iops` on average (exponential gaps). Each is, by the shares
// given: a hot-set access (skewed toward the start of the hot set: offset = u^2 of its
// size), a sequential stream read (`streams` readers, each walking its own part of the
// volume in `stream_io` steps), or a random access anywhere. Hot and random accesses
// are writes with probability `write_share`. At `phase_change` of the duration the hot
// set moves from 1/8 of the volume to 5/8. Deterministic for a seed.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "ferry/trace.h"

namespace ferry {

struct SynthOptions {
  uint64_t volume_size = 4ull << 30;                       // Default: 4 GiB.
  std::chrono::nanoseconds duration{std::chrono::seconds(120)};  // Default: 120 s.
  double iops = 500;                                       // Default: 500 requests/s.
  uint64_t io_size = 4096;                                 // hot and random requests. Default: 4 KiB.
  uint64_t hot_size = 128ull << 20;                        // Default: 128 MiB.
  double hot_share = 0.6;                                  // Default: 60% of requests.
  int streams = 2;                                         // Default: 2 sequential readers.
  double stream_share = 0.2;                               // Default: 20% of requests.
  uint64_t stream_io = 128 << 10;                          // Default: 128 KiB.
  double write_share = 0.3;                                // of hot and random requests. Default: 30%.
  double phase_change = 0.5;                               // share of the duration; 0: none. Default: 50%.
  uint64_t seed = 1;
};

// kInvalidArgument naming the option when the options cannot make a workload.
Status ValidateSynthOptions(const SynthOptions& options);

// A reader that generates the workload event by event (any length, constant memory).
Result<std::unique_ptr<TraceReader>> NewSyntheticTrace(const SynthOptions& options);

}  // namespace ferry
