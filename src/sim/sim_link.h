// SimLink: the simulator's source link (DESIGN.md "Evaluation"), the one bench/ measures
// against: nbdkit's delay filter in front of its rate filter. Each request first waits
// the latency, then its bytes cross at the bandwidth, first come first served. Two
// properties of nbdkit's rate filter can be added:
// - shared: what the application waits for (a read-through, a demand copy) takes its
//   share of the bandwidth beside the copies on the link rather than queueing behind
//   them (the filter wakes every waiting request in turn), while the copies keep their
//   order;
// - a token bucket (burst): what it holds crosses at burst_bandwidth (or at once); it is
//   full at the start and refills at the bandwidth while the link is idle, up to its
//   size (nbdkit's is 2 s of the rate; cloud disks' burst credits work alike).
// And one property of the server behind it: `servers`, the requests it works on at once
// (nbdkit's threads per connection: 16 by default; qemu-nbd's is 16 too). A request
// holds one from its arrival, through the latency and its bytes, to its answer; one that
// finds them all busy waits for the first to come free, first come first served.
// Pure and deterministic: times are the caller's virtual clock. Thread-compatible.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <queue>
#include <set>
#include <vector>

namespace ferry {

class SimLink {
 public:
  using Time = std::chrono::nanoseconds;
  struct Options {
    Time latency{0};
    uint64_t bandwidth = 1;         // bytes/s, > 0
    bool shared = false;
    Time burst{0};                  // the bucket's size in time at the bandwidth; 0: none
    uint64_t burst_bandwidth = 0;   // bytes/s its bytes cross at; 0: at once
    int servers = 0;                // requests the server works on at once; 0: any number
  };
  explicit SimLink(const Options& options);

  // A source read of `bytes` sent at `now`: when its answer arrives. `waited_on`: the
  // application waits for it (shared links let it pass the copies).
  Time Transfer(uint64_t bytes, Time now, bool waited_on);
  // A copy's read is on the link until `answered` (what a shared link's waited-on
  // reads share it with).
  void CopyOnLink(Time answered) {
    if (o_.shared) copy_answers_.insert(answered);
  }

 private:
  // Transfer once a server has taken the request at `now`.
  Time Send(uint64_t bytes, Time now, bool waited_on);

  const Options o_;
  const double bucket_size_;  // bytes (0: no bucket)
  Time free_{0};              // when the link has sent every byte queued on it
  double tokens_;             // bytes the bucket holds at free_ (full at the start)
  std::multiset<Time> copy_answers_;  // shared: when the copies on the link are answered
  // servers > 0: when each busy server comes free (at most `servers` of them).
  std::priority_queue<Time, std::vector<Time>, std::greater<Time>> busy_until_;
};

}  // namespace ferry
