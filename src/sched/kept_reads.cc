// KeptReads (see kept_reads.h).
#include "sched/kept_reads.h"

#include <algorithm>
#include <iterator>

namespace ferry {

void KeptReads::Erase(std::map<uint64_t, Entry>::iterator it) {
  bytes_ -= it->second.length;
  uses_.erase(it->second.use);
  entries_.erase(it);
}

uint64_t KeptReads::Keep(uint64_t offset, uint64_t length, std::span<const std::byte> data, Time ready) {
  const uint64_t ticket = ++next_ticket_;
  if (length == 0 || length > capacity_) return ticket;
  // Drop what overlaps: the entry before that reaches into the range, and those inside.
  auto it = entries_.lower_bound(offset);
  if (it != entries_.begin()) {
    auto before = std::prev(it);
    if (before->first + before->second.length > offset) Erase(before);
  }
  while (it != entries_.end() && it->first < offset + length) Erase(it++);
  while (bytes_ + length > capacity_) Erase(entries_.find(uses_.back()));
  uses_.push_front(offset);
  Entry& e = entries_[offset];
  e.length = length;
  e.ready = ready;
  e.data.assign(data.begin(), data.end());
  e.use = uses_.begin();
  e.ticket = ticket;
  bytes_ += length;
  return ticket;
}

void KeptReads::Fill(uint64_t ticket, uint64_t offset, std::span<const std::byte> data, Time now) {
  auto it = entries_.find(offset);
  if (it == entries_.end() || it->second.ticket != ticket || data.size() != it->second.length) return;
  it->second.data.assign(data.begin(), data.end());
  it->second.ready = now;
}

void KeptReads::Forget(uint64_t ticket, uint64_t offset) {
  auto it = entries_.find(offset);
  if (it != entries_.end() && it->second.ticket == ticket) Erase(it);
}

KeptReads::Found KeptReads::Find(uint64_t offset, uint64_t length, Time now, std::span<std::byte> out) {
  auto it = entries_.upper_bound(offset);
  if (it == entries_.begin()) return {};
  --it;
  Entry& e = it->second;
  if (it->first + e.length < offset + length) return {};
  if (!out.empty() && !e.data.empty() && e.ready <= now) {
    std::copy_n(e.data.begin() + static_cast<std::ptrdiff_t>(offset - it->first), length, out.begin());
  }
  uses_.splice(uses_.begin(), uses_, e.use);
  return {true, e.ready};
}

}  // namespace ferry
