// Byte sizes, rates and ETAs: parse and print.
#include <cctype>
#include <cmath>
#include <cstdio>
#include <string>

#include "ferry/units.h"

namespace ferry {
namespace {

Status BadSize(std::string_view what, std::string_view text, const char* why) {
  return InvalidArgument(std::string("invalid ") + std::string(what) + " '" +
                         std::string(text) + "': " + why +
                         " (use a whole number of bytes or a suffix K, M, G, T, P: 64K, 1M)");
}

}  // namespace

Result<uint64_t> ParseSize(std::string_view text, std::string_view what) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  std::string number(text.substr(0, i));
  std::string suffix;
  for (char c : text.substr(i)) suffix += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (number.empty() || number == ".") return BadSize(what, text, "no number");
  if (number.find('.') != number.rfind('.')) return BadSize(what, text, "not a number");

  int shift;
  if (suffix.empty() || suffix == "b") shift = 0;
  else if (suffix == "k" || suffix == "kb" || suffix == "kib") shift = 10;
  else if (suffix == "m" || suffix == "mb" || suffix == "mib") shift = 20;
  else if (suffix == "g" || suffix == "gb" || suffix == "gib") shift = 30;
  else if (suffix == "t" || suffix == "tb" || suffix == "tib") shift = 40;
  else if (suffix == "p" || suffix == "pb" || suffix == "pib") shift = 50;
  else if (suffix == "e" || suffix == "eb" || suffix == "eib") shift = 60;
  else return BadSize(what, text, "unknown suffix");

  if (number.find('.') == std::string::npos) {
    size_t first = number.find_first_not_of('0');
    std::string digits = first == std::string::npos ? "0" : number.substr(first);
    if (digits.size() > 20 || (digits.size() == 20 && digits > "18446744073709551615")) {
      return BadSize(what, text, "too large");
    }
    unsigned long long v = std::stoull(digits);  // fits: checked above
    if (shift > 0 && v > (UINT64_MAX >> shift)) return BadSize(what, text, "too large");
    return static_cast<uint64_t>(v) << shift;
  }
  long double v = std::stold(number) * std::ldexp(1.0L, shift);
  if (v >= 18446744073709551615.0L) return BadSize(what, text, "too large");
  if (v != std::floor(v)) return BadSize(what, text, "not a whole number of bytes");
  return static_cast<uint64_t>(v);
}

std::string FormatSize(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 6) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, kUnits[u]);
  return buf;
}

std::string FormatRate(double bytes_per_second) {
  if (!(bytes_per_second >= 0) || !std::isfinite(bytes_per_second)) return "-- B/s";
  return FormatSize(static_cast<uint64_t>(bytes_per_second)) + "/s";
}

std::string FormatEta(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  auto s = static_cast<uint64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%llu:%02llu:%02llu", static_cast<unsigned long long>(s / 3600),
                  static_cast<unsigned long long>(s / 60 % 60), static_cast<unsigned long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%llu:%02llu", static_cast<unsigned long long>(s / 60),
                  static_cast<unsigned long long>(s % 60));
  }
  return buf;
}

namespace {

// A non-negative decimal number and the rest of the text.
bool SplitNumber(std::string_view text, double* value, std::string* unit) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  std::string number(text.substr(0, i));
  if (number.empty() || number == "." || number.find('.') != number.rfind('.')) return false;
  *value = std::stod(number);
  unit->clear();
  for (char c : text.substr(i)) *unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::isfinite(*value);
}

}  // namespace

Result<std::chrono::nanoseconds> ParseDuration(std::string_view text, std::string_view what) {
  double v;
  std::string unit;
  auto bad = [&] {
    return InvalidArgument("invalid " + std::string(what) + " '" + std::string(text) +
                           "': use a number with a unit, e.g. 2ms, 100us, 1.5s, 5m");
  };
  if (!SplitNumber(text, &v, &unit)) return bad();
  double ns_per;
  if (unit == "ns") ns_per = 1;
  else if (unit == "us") ns_per = 1e3;
  else if (unit == "ms") ns_per = 1e6;
  else if (unit.empty() || unit == "s") ns_per = 1e9;
  else if (unit == "m" || unit == "min") ns_per = 60e9;
  else if (unit == "h") ns_per = 3600e9;
  else return bad();
  const double ns = v * ns_per;
  if (ns > 9e18) return InvalidArgument("invalid " + std::string(what) + " '" + std::string(text) + "': too long");
  return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(ns)));
}

Result<double> ParseShare(std::string_view text, std::string_view what) {
  double v;
  std::string unit;
  if (!SplitNumber(text, &v, &unit) || !(unit.empty() || unit == "%")) {
    return InvalidArgument("invalid " + std::string(what) + " '" + std::string(text) + "': use a percentage like 25% or a fraction like 0.25");
  }
  if (unit == "%") v /= 100;
  if (v > 1) return InvalidArgument("invalid " + std::string(what) + " '" + std::string(text) + "': must be at most 100%");
  return v;
}

}  // namespace ferry
