// retry_policy: when a failed delivery is tried again (no clock: delays are returned).
#include "dispatch/retry_policy.h"

#include <gtest/gtest.h>

namespace dmq::dispatch {
namespace {

config::consumer consumer(int retry_times, int interval, std::string backoff = "linear") {
  config::consumer c;
  c.retry_times = retry_times;
  c.interval_ms = interval;
  c.backoff = std::move(backoff);
  return c;
}

TEST(retry_policy, linear_waits_interval_times_n_then_gives_up) {
  std::mt19937_64 rng(1);
  auto c = consumer(3, 200);
  EXPECT_EQ(next_retry_delay(c, 1, rng), 200);
  EXPECT_EQ(next_retry_delay(c, 2, rng), 400);
  EXPECT_EQ(next_retry_delay(c, 3, rng), 600);
  EXPECT_EQ(next_retry_delay(c, 4, rng), std::nullopt) << "3 retries used";
  EXPECT_EQ(next_retry_delay(consumer(0, 200), 1, rng), std::nullopt) << "no retries at all";
}

TEST(retry_policy, exponential_doubles_up_to_the_cap) {
  std::mt19937_64 rng(1);
  auto c = consumer(10, 100, "exponential");
  c.jitter = false;
  c.backoff_cap_ms = 1000;
  EXPECT_EQ(next_retry_delay(c, 1, rng), 100);
  EXPECT_EQ(next_retry_delay(c, 2, rng), 200);
  EXPECT_EQ(next_retry_delay(c, 4, rng), 800);
  EXPECT_EQ(next_retry_delay(c, 5, rng), 1000);
  EXPECT_EQ(next_retry_delay(c, 10, rng), 1000);
  EXPECT_EQ(next_retry_delay(c, 11, rng), std::nullopt);
}

TEST(retry_policy, jitter_waits_between_half_and_all_of_the_step) {
  std::mt19937_64 rng(7);
  auto c = consumer(5, 1000, "exponential");
  bool below_full = false;
  for (int i = 0; i < 200; ++i) {
    auto d = *next_retry_delay(c, 3, rng);  // step 4000
    EXPECT_GE(d, 2000);
    EXPECT_LE(d, 4000);
    below_full = below_full || d < 4000;
  }
  EXPECT_TRUE(below_full) << "jitter spreads the retries";
}

}  // namespace
}  // namespace dmq::dispatch
