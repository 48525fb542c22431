#include "dispatch/retry_policy.h"

#include <algorithm>

namespace dmq::dispatch {

std::optional<std::int64_t> next_retry_delay(const config::consumer& c, int attempt,
                                             std::mt19937_64& rng) {
  int retry = attempt;  // the retry that comes next is number `attempt` (retry=0 was the try)
  if (retry > c.retry_times) return std::nullopt;
  std::int64_t interval = c.interval_ms;
  if (c.backoff != "exponential") return interval * retry;
  std::int64_t cap = c.backoff_cap_ms;
  std::int64_t step = interval;
  for (int i = 1; i < retry && step < cap; ++i) step *= 2;
  step = std::min(step, cap);
  if (!c.jitter || step < 2) return step;
  std::uniform_int_distribution<std::int64_t> half(step / 2, step);
  return half(rng);
}

}  // namespace dmq::dispatch
