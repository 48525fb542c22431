// rate_limiter: a consumer's rate_per_sec, per dispatcher, as a token bucket of one
// second's worth of attempts. Time is a monotonic clock's milliseconds passed in by the
// caller (steady_clock in dmq, any number in tests): a wall clock stepped back must not
// stall a consumer, nor one stepped forward let a burst through.
#pragma once

#include <cstdint>

namespace dmq::dispatch {

class rate_limiter {
 public:
  // per_sec 0: no limit.
  rate_limiter(int per_sec, std::int64_t now_ms);

  // budget returns how many attempts may start at now_ms (unlimited: INT_MAX).
  int budget(std::int64_t now_ms);
  // spend takes n attempts started.
  void spend(int n);
  // wait_ms returns how long until one more attempt may start (0 if one may now).
  std::int64_t wait_ms() const;
  bool limited() const { return per_sec_ > 0; }

 private:
  int per_sec_;
  double tokens_;
  std::int64_t at_ms_;  // when tokens_ was last topped up
};

// claim_room returns how many deliveries a worker may claim now: its free concurrency,
// but none while deliveries are in flight and less than a quarter of it is free (one
// claim then takes many, instead of one claim per finished delivery).
int claim_room(int concurrency, int in_flight);

}  // namespace dmq::dispatch
