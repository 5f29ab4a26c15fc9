// ParseNumber: a whole field as a number (integer or floating point), surrounding
// spaces allowed, nothing else; for the trace readers.
#pragma once

#include <charconv>
#include <string_view>

namespace ferry {

template <typename T>
bool ParseNumber(std::string_view s, T* out) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace ferry
