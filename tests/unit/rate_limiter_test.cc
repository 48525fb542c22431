// rate_limiter and claim_room: the worker's rules for how much it may start, on a clock
// the test advances.
#include "dispatch/rate_limiter.h"

#include <gtest/gtest.h>

#include <climits>

namespace dmq::dispatch {
namespace {

TEST(rate_limiter, no_limit_gives_everything) {
  rate_limiter r(0, 1000);
  EXPECT_EQ(r.budget(1000), INT_MAX);
  EXPECT_EQ(r.wait_ms(), 0);
}

TEST(rate_limiter, a_second_of_attempts_then_refills_at_the_rate) {
  std::int64_t t = 5000;
  rate_limiter r(10, t);
  EXPECT_EQ(r.budget(t), 10);
  r.spend(10);
  EXPECT_EQ(r.budget(t), 0);
  EXPECT_EQ(r.wait_ms(), 101);  // one token every 100 ms
  EXPECT_EQ(r.budget(t + 100), 1);
  EXPECT_EQ(r.budget(t + 500), 5);
  EXPECT_EQ(r.budget(t + 60000), 10) << "never more than one second's worth";
}

TEST(rate_limiter, a_clock_going_back_stalls_nothing_and_adds_nothing) {
  rate_limiter r(10, 10000);
  r.spend(10);
  EXPECT_EQ(r.budget(10000 - 3600000), 0) << "an hour back: no tokens made up";
  EXPECT_EQ(r.budget(10200), 2) << "and the refill goes on from where it was";
}

TEST(claim_room, claims_in_chunks_of_a_quarter_while_deliveries_run) {
  EXPECT_EQ(claim_room(64, 0), 64);
  EXPECT_EQ(claim_room(64, 60), 0) << "4 free of 64: wait for a quarter";
  EXPECT_EQ(claim_room(64, 48), 16);
  EXPECT_EQ(claim_room(1, 0), 1);
  EXPECT_EQ(claim_room(1, 1), 0);
  EXPECT_EQ(claim_room(4, 3), 1) << "a quarter of 4 is 1";
  EXPECT_EQ(claim_room(8, 9), 0) << "never negative";
}

}  // namespace
}  // namespace dmq::dispatch
