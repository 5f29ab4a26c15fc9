// KeptReads: what the source answered to the application's read-throughs, kept in
// memory until their granules land (DESIGN.md "The live request path"). A missed read
// is answered from a source read of exactly its bytes, and its granules' copy follows
// behind; a re-read of the same bytes before that copy lands (a hot block of a zipf
// workload is re-read within milliseconds) is answered from here instead of from the
// source again; one while the answer is on its way waits for it rather than asking
// the source again. Half of the anchor benchmark's waits were such re-reads.
//
// Why kept bytes are never stale: the source is never written (invariant 1), so what
// it answered is the current data of every granule not yet present; and a granule
// becomes present when it is copied or the application writes it whole (a partial
// write brings it in first), after which reads go to the destination and never look
// here. The caller asks only for bytes of granules that are not present.
//
// Shared by the engine, which keeps the bytes, and the simulator, which keeps only the
// ranges (`data` empty) with the time their answer arrives; both count the same
// capacity, so both keep and forget the same ranges. Least recently used goes first.
// Thread-compatible: the engine holds its lock.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <span>
#include <vector>

namespace ferry {

class KeptReads {
 public:
  using Time = std::chrono::nanoseconds;
  // Default capacity: 32 MiB, eight thousand 4 KiB reads.
  static constexpr uint64_t kDefaultCapacity = 32 << 20;

  explicit KeptReads(uint64_t capacity = kDefaultCapacity) : capacity_(capacity) {}

  // Keeps the source's answer for [offset, offset + length), usable from `ready` on.
  // `data` is the answer (length bytes), or empty to keep the range alone (the
  // simulator, which knows when the answer comes) or until Fill() brings it (the
  // engine: `ready` is then kNotYet). A kept range that overlaps it is dropped (the
  // newer answer serves). Returns the answer's ticket, for Fill and Forget.
  uint64_t Keep(uint64_t offset, uint64_t length, std::span<const std::byte> data, Time ready);
  static constexpr Time kNotYet = Time::max();
  // The answer with this ticket came at `now` with `data`; nothing if it is no longer
  // kept (dropped for a newer one, or for room).
  void Fill(uint64_t ticket, uint64_t offset, std::span<const std::byte> data, Time now);
  // The read with this ticket failed: it will bring nothing.
  void Forget(uint64_t ticket, uint64_t offset);

  // Whether [offset, offset + length) lies inside one kept answer, and when that answer
  // arrives (kNotYet: unknown yet); if it has arrived by `now` and `out` is not empty
  // (length bytes), its bytes are copied there. Finding makes the answer the most
  // recently used.
  struct Found {
    bool kept = false;
    Time ready{0};
  };
  Found Find(uint64_t offset, uint64_t length, Time now, std::span<std::byte> out = {});

  uint64_t bytes() const { return bytes_; }  // kept now

 private:
  struct Entry {
    uint64_t ticket = 0;
    uint64_t length = 0;
    Time ready{0};
    std::vector<std::byte> data;
    std::list<uint64_t>::iterator use;  // in uses_
  };
  void Erase(std::map<uint64_t, Entry>::iterator it);

  uint64_t capacity_;
  uint64_t bytes_ = 0;
  uint64_t next_ticket_ = 0;
  std::map<uint64_t, Entry> entries_;  // by offset; never overlapping
  std::list<uint64_t> uses_;           // offsets, most recently used first
};

}  // namespace ferry
