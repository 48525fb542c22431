#include "dispatch/rate_limiter.h"

#include <algorithm>
#include <climits>

namespace dmq::dispatch {

rate_limiter::rate_limiter(int per_sec, std::int64_t now_ms)
    : per_sec_(per_sec), tokens_(std::max(1, per_sec)), at_ms_(now_ms) {}

int rate_limiter::budget(std::int64_t now_ms) {
  if (per_sec_ <= 0) return INT_MAX;
  double rate = per_sec_;
  if (now_ms > at_ms_) {  // a monotonic clock never goes back; be safe if it does
    tokens_ = std::min(rate, tokens_ + static_cast<double>(now_ms - at_ms_) * rate / 1000.0);
    at_ms_ = now_ms;
  }
  return static_cast<int>(tokens_);
}

void rate_limiter::spend(int n) {
  if (per_sec_ > 0) tokens_ -= n;
}

std::int64_t rate_limiter::wait_ms() const {
  if (per_sec_ <= 0 || tokens_ >= 1) return 0;
  return std::max<std::int64_t>(1, static_cast<std::int64_t>((1 - tokens_) * 1000 / per_sec_) + 1);
}

int claim_room(int concurrency, int in_flight) {
  int room = concurrency - in_flight;
  if (in_flight > 0 && room < std::max(1, concurrency / 4)) return 0;
  return std::max(0, room);
}

}  // namespace dmq::dispatch
