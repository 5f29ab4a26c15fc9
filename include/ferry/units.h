// ferry/units.h: parsing and printing of byte sizes, rates and durations, as the CLI
// and reports show them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "ferry/status.h"

namespace ferry {

// Parses a byte size: a whole number with an optional binary suffix, case-insensitive:
// "4096", "64K", "64k", "64KiB", "1M", "1.5G" (fractions allowed when a suffix makes the
// result whole), "2T", "1P"; "B" alone means bytes. K = 1024 (as qemu-img and nbdkit).
// Fails with kInvalidArgument naming `what` and the text on anything else (negative,
// overflow, empty, unknown suffix).
Result<uint64_t> ParseSize(std::string_view text, std::string_view what = "size");

// Parses a duration: a non-negative number with a unit: "2ms", "100us", "1.5s", "5m",
// "1h", "250ns"; a bare number is seconds. kInvalidArgument naming `what` otherwise.
Result<std::chrono::nanoseconds> ParseDuration(std::string_view text, std::string_view what = "duration");

// Parses a share: "25%" or "0.25"; must lie in [0, 1]. kInvalidArgument naming `what`.
Result<double> ParseShare(std::string_view text, std::string_view what = "share");

// "0 B", "512 B", "64.0 KiB", "1.00 GiB": three significant digits, binary units.
std::string FormatSize(uint64_t bytes);

// "812 MiB/s"; a rate in bytes per second.
std::string FormatRate(double bytes_per_second);

// "0:07", "1:02:03"; for ETAs. Negative or non-finite -> "--:--".
std::string FormatEta(double seconds);

// Seconds as a double, for reports.
inline double ToSeconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace ferry
