// ParsedFlags: sizes, durations and shares given as text on the command line, parsed
// after CLI11 so that the first bad one is reported naming its flag.
#pragma once

#include <chrono>
#include <string>

#include "ferry/units.h"

namespace ferry::cli {

struct ParsedFlags {
  Status status;  // the first failure; later calls do nothing once it is set

  template <typename T>
  void Size(const std::string& text, const char* flag, T* out) {
    if (!status.ok() || text.empty()) return;
    auto v = ParseSize(text, flag);
    if (v.ok()) *out = *v; else status = v.status();
  }
  void Duration(const std::string& text, const char* flag, std::chrono::nanoseconds* out) {
    if (!status.ok() || text.empty()) return;
    auto v = ParseDuration(text, flag);
    if (v.ok()) *out = *v; else status = v.status();
  }
  void Share(const std::string& text, const char* flag, double* out) {
    if (!status.ok() || text.empty()) return;
    auto v = ParseShare(text, flag);
    if (v.ok()) *out = *v; else status = v.status();
  }
};

}  // namespace ferry::cli
