// ferry/export.h: what an NBD export of ferry's serves (the nbdkit plugin is a thin
// adapter over it): a live migration (ferry/live.h, `ferry serve`) or a watched source
// (ferry/watch.h, `ferry watch`). Thread-safe: requests come from many threads.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "ferry/status.h"
#include "ferry/volume.h"

namespace ferry {

class Export {
 public:
  virtual ~Export() = default;
  virtual uint64_t size() const = 0;
  virtual Status Read(uint64_t offset, std::span<std::byte> buf) = 0;
  virtual Status Write(uint64_t offset, std::span<const std::byte> buf, bool fua) = 0;
  virtual Status Zero(uint64_t offset, uint64_t length, bool fua) = 0;
  virtual Status Trim(uint64_t offset, uint64_t length, bool fua) = 0;
  virtual Status Flush() = 0;
  virtual Status Extents(uint64_t offset, uint64_t length, std::vector<Extent>* out) = 0;
  // A client's hint that it will read the range soon (NBD_CMD_CACHE).
  virtual void Cache(uint64_t offset, uint64_t length) = 0;
};

}  // namespace ferry
