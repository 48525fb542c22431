// retry_policy: when a failed delivery is tried again.
//   linear (the seed's): retry n (n = 1..retry_times) waits interval * n ms.
//   exponential (dmq's): retry n waits interval * 2^(n-1) ms, at most backoff_cap_ms,
//   with jitter a random 50-100% of that, so a consumer that comes back is not hit by
//   every retry at once.
#pragma once

#include <cstdint>
#include <optional>
#include <random>

#include "config/config.h"

namespace dmq::dispatch {

// next_retry_delay returns how long to wait after failed attempt `attempt` (1 = the first
// try) before the next one, or nullopt when retry_times is used up (the delivery fails).
std::optional<std::int64_t> next_retry_delay(const config::consumer& c, int attempt,
                                             std::mt19937_64& rng);

}  // namespace dmq::dispatch
