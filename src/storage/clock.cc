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

std::int64_t clock::now_ms() const {
  return storage::now_ms() + offset_ms_;
}

void clock::observe(std::int64_t redis_ms, std::int64_t wall_at_ms) {
  offset_ms_ = redis_ms - wall_at_ms;
  measured_ = true;
  if (std::llabs(offset_ms_) > warn_beyond_ms && wall_at_ms - warned_at_ >= 60000) {
    warned_at_ = wall_at_ms;
    spdlog::warn("clock: this host's clock is {} ms {} Redis's; dmq decides due times, leases "
                 "and retries on Redis's clock, but fix the host's (NTP)",
                 std::llabs(offset_ms_), offset_ms_ > 0 ? "behind" : "ahead of");
  }
}

}  // namespace dmq::storage
