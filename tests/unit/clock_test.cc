// storage::clock: the offset to Redis's TIME, taken from the sample with the shortest
// round trip, none under half a millisecond.
#include "storage/clock.h"

#include <gtest/gtest.h>

namespace dmq::storage {
namespace {

TEST(clock, the_offset_comes_from_the_shortest_round_trip_of_the_last_minute) {
  clock c;
  EXPECT_FALSE(c.measured());
  const std::int64_t t = 1'800'000'000'000'000;  // µs
  c.observe(t + 60'000'000 + 100, t, t + 200);   // Redis a minute ahead, 200 µs round trip
  EXPECT_EQ(c.offset_ms(), 60'000);
  c.observe(t + 1'000 + 60'000'000 + 5'000'000, t + 1'000, t + 20'000);  // slow: ignored
  EXPECT_EQ(c.offset_ms(), 60'000);
  c.observe(t + 70'000'000 + 60'000'000 + 2'000, t + 70'000'000, t + 70'004'000);  // a minute on
  EXPECT_EQ(c.offset_ms(), 60'000) << "the best sample is old: a slower one is taken";
  EXPECT_NEAR(static_cast<double>(c.now_ms() - now_ms()), 60'000.0, 2.0);
}

TEST(clock, clocks_that_agree_get_no_offset) {
  clock c;
  const std::int64_t t = 1'800'000'000'000'000;
  c.observe(t + 150 - 300, t, t + 300);  // Redis 300 µs behind the middle
  EXPECT_EQ(c.offset_ms(), 0);
  EXPECT_TRUE(c.measured());
}

}  // namespace
}  // namespace dmq::storage
