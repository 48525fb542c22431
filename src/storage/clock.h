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
  // observe takes Redis's time redis_ms, read when the wall clock said wall_ms.
  void observe(std::int64_t redis_ms, std::int64_t wall_ms);
  // offset_ms returns Redis's time minus this host's wall clock (0 until measured).
  std::int64_t offset_ms() const { return offset_ms_; }
  bool measured() const { return measured_; }

 private:
  std::int64_t offset_ms_ = 0;
  bool measured_ = false;
  std::int64_t warned_at_ = 0;  // wall ms of the last warning
};

// now_ms returns this host's wall clock in milliseconds since the Unix epoch.
std::int64_t now_ms();

}  // namespace dmq::storage
