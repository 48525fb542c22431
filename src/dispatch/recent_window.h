// recent_window: one consumer's deliveries of the last 60 seconds as a dispatcher reports
// them (docs/storage.md, "Dispatcher reports"): per second a slot (a ring of 60) counting
// attempts done, attempts failed, and first attempts by lateness bucket, so a report sums
// the last minute without keeping any attempt.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace dmq::dispatch {

class recent_window {
 public:
  static constexpr int seconds = 60;

  // bounds: the lateness buckets' upper bounds, seconds, ascending (+Inf implied).
  explicit recent_window(std::span<const double> bounds);

  // Each takes the time it happened, in whole seconds of a steady clock.
  void done(std::int64_t now_s);
  void failed(std::int64_t now_s);
  void late(std::int64_t now_s, double lateness_s);

  struct totals {
    std::uint64_t done = 0, failed = 0;
    std::vector<std::uint64_t> lateness;  // per bucket, not cumulative; +Inf last
  };
  // sum returns the counts of the seconds (now_s - 59 .. now_s].
  totals sum(std::int64_t now_s) const;
  std::span<const double> bounds() const { return bounds_; }

 private:
  struct slot {
    std::int64_t second = -1;
    std::uint64_t done = 0, failed = 0;
    std::vector<std::uint64_t> lateness;
  };
  // at returns the slot of second s, emptied if it last held an older second.
  slot& at(std::int64_t s);

  std::vector<double> bounds_;
  std::array<slot, seconds> slots_;
};

}  // namespace dmq::dispatch
