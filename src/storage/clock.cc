#include "storage/clock.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>

namespace dmq::storage {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t clock::now_ms() const {
  return (storage::now_us() + offset_us_) / 1000;
}

void clock::observe(std::int64_t redis_us, std::int64_t sent_us, std::int64_t got_us) {
  auto rtt = got_us - sent_us;
  if (measured_ && rtt > best_rtt_us_ && got_us - best_at_us_ < 60'000'000) return;
  best_rtt_us_ = rtt;
  best_at_us_ = got_us;
  offset_us_ = redis_us - (sent_us + got_us) / 2;
  if (std::llabs(offset_us_) < 500) offset_us_ = 0;
  measured_ = true;
  auto offset = offset_ms();
  auto wall_at_ms = got_us / 1000;
  if (std::llabs(offset) > warn_beyond_ms && wall_at_ms - warned_at_ >= 60000) {
    warned_at_ = wall_at_ms;
    spdlog::warn(
        "clock: this host's clock is {} ms {} Redis's; dmq decides due times, leases "
        "and retries on Redis's clock, but fix the host's (NTP)",
        std::llabs(offset), offset > 0 ? "behind" : "ahead of");
  }
}

}  // namespace dmq::storage
