// libFuzzer target for one trace reader (FERRY_FUZZ_FORMAT names the TraceFormat
// enumerator; kAuto runs detection first): any bytes, gzip-compressed or not, must give
// events or errors, never a crash, a hang or a sanitizer report. Built by scripts/fuzz
// with clang; `scripts/test` runs every target over its corpus in tests/fuzz/.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "ferry/trace.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The readers take a path: hand them an in-memory file.
  static const int fd = memfd_create("ferry-fuzz", 0);
  if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) return 0;
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  ferry::TraceReadOptions options;
  options.on_warning = [](const std::string&) {};
  auto reader = ferry::OpenTrace(path, ferry::TraceFormat::FERRY_FUZZ_FORMAT, options);
  if (!reader.ok()) return 0;
  ferry::IoEvent e;
  for (int i = 0; i < 1000000; ++i) {
    auto more = (*reader)->Next(&e);
    if (!more.ok() || !*more) break;
  }
  return 0;
}
