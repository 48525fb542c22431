// clock: Redis's time as this process sees it: the wall clock plus an offset measured
// from Redis's TIME (every claim and every id-lease renewal carries it). Due times, leases,
// retries and rates are decided on this one clock in every process that shares a Redis,
// so a host whose clock runs ahead does not deliver early, nor one stepped back late.
#pragma once

#include <cstdint>

namespace dmq::storage {

class clock {
 public:
  // warn_beyond_ms: an offset larger than this is logged (at most once a minute).
  static constexpr std::int64_t warn_beyond_ms = 1000;

  // now_ms returns Redis's time now (ms since the Unix epoch), as best known.
  std::int64_t now_ms() const;
  // observe takes Redis's time redis_us (TIME, in microseconds), read while this host's
  // wall clock went from sent_us to got_us (the middle is taken). As NTP does, the sample
  // with the shortest round trip of the last minute wins (a reply read late by a busy
  // event loop would skew the offset), and an offset under half a millisecond counts as
  // none, so two clocks that agree are never made to differ by a rounded millisecond.
  void observe(std::int64_t redis_us, std::int64_t sent_us, std::int64_t got_us);
  // offset_ms returns Redis's time minus this host's wall clock (0 until measured).
  std::int64_t offset_ms() const { return offset_us_ / 1000; }
  bool measured() const { return measured_; }

 private:
  std::int64_t offset_us_ = 0;
  std::int64_t best_rtt_us_ = 0;  // the round trip of the sample offset_us_ came from
  std::int64_t best_at_us_ = 0;   // when that sample was taken
  bool measured_ = false;
  std::int64_t warned_at_ = 0;  // wall ms of the last warning
};

// now_ms and now_us return this host's wall clock since the Unix epoch.
std::int64_t now_ms();
std::int64_t now_us();

}  // namespace dmq::storage
