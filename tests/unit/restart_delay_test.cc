// restart_delay_test: how long the supervisor waits before starting a dead worker again
// (app/supervisor.h): 100 ms, doubling while the worker keeps dying before it serves, capped.
#include <gtest/gtest.h>

#include "app/supervisor.h"

namespace {

using namespace std::chrono_literals;
using dmq::app::restart_delay;

TEST(restart_delay, starts_at_100_ms_and_doubles) {
  EXPECT_EQ(restart_delay(1), 100ms);
  EXPECT_EQ(restart_delay(2), 200ms);
  EXPECT_EQ(restart_delay(3), 400ms);
  EXPECT_EQ(restart_delay(7), 6400ms);
}

TEST(restart_delay, is_capped_at_10_s) {
  EXPECT_EQ(restart_delay(8), 10s);
  EXPECT_EQ(restart_delay(9), 10s);
  EXPECT_EQ(restart_delay(1000), 10s);
}

TEST(restart_delay, a_count_below_1_is_the_first) {
  EXPECT_EQ(restart_delay(0), 100ms);
  EXPECT_EQ(restart_delay(-5), 100ms);
}

}  // namespace
