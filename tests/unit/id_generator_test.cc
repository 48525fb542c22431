#include "model/id_generator.h"

#include <gtest/gtest.h>

#include <set>

using dmq::model::id_generator;

TEST(id_generator, issues_nothing_without_a_node) {
  id_generator g;
  EXPECT_FALSE(g.next(id_generator::epoch_ms + 1000).has_value());
}

TEST(id_generator, ids_increase_and_encode_time_and_node) {
  id_generator g;
  g.set_node(5, 0);
  const std::int64_t now = 1795000000000;  // 2026
  auto a = *g.next(now);
  auto b = *g.next(now);
  auto c = *g.next(now + 1);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ(id_generator::time_of(a), now);
  EXPECT_EQ(id_generator::time_of(c), now + 1);
  EXPECT_EQ(id_generator::node_of(a), 5);
}

TEST(id_generator, stays_below_2_pow_53_until_2093) {
  id_generator g;
  g.set_node(id_generator::nodes - 1, 0);
  const std::int64_t year_2093 = 3881174400000;  // 2093-01-01
  auto id = *g.next(year_2093);
  EXPECT_LE(id, id_generator::max_id);
  EXPECT_LT(static_cast<double>(id), 9007199254740992.0);
}

TEST(id_generator, borrows_the_next_millisecond_rather_than_repeat) {
  id_generator g;
  g.set_node(1, 0);
  const std::int64_t now = 1795000000000;
  std::set<std::uint64_t> seen;
  std::uint64_t last = 0;
  for (int i = 0; i < 1000; ++i) {  // 1000 ids in one millisecond: 128 fit, the rest borrow
    auto id = *g.next(now);
    EXPECT_GT(id, last);
    last = id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_GT(id_generator::time_of(last), now);
  // When the clock catches up, ids keep increasing.
  EXPECT_GT(*g.next(now + 3), last);
}

TEST(id_generator, two_nodes_never_collide) {
  id_generator a, b;
  a.set_node(0, 0);
  b.set_node(1, 0);
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 500; ++i) {
    seen.insert(*a.next(1795000000000 + i / 200));
    seen.insert(*b.next(1795000000000 + i / 200));
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(id_generator, new_node_starts_after_its_previous_holder) {
  id_generator g;
  const std::int64_t now = 1795000000000;
  g.set_node(3, now + 20000);  // previous holder may have issued ids up to now + 20 s
  EXPECT_GE(id_generator::time_of(*g.next(now)), now + 20000);
}

TEST(id_generator, clock_going_back_does_not_repeat_ids) {
  id_generator g;
  g.set_node(2, 0);
  auto a = *g.next(1795000000500);
  auto b = *g.next(1795000000000);  // wall clock stepped back
  EXPECT_GT(b, a);
}

TEST(id_generator, refuses_ids_for_a_clock_outside_its_range_never_zero_or_repeated) {
  id_generator g;
  g.set_node(3, 0);
  const std::int64_t year_2023 = 1685577600000;  // 2023-06-01: before the ids' epoch
  for (int i = 0; i < 200; ++i) EXPECT_FALSE(g.next(year_2023).has_value()) << i;
  EXPECT_FALSE(g.next(id_generator::epoch_ms).has_value());
  EXPECT_FALSE(id_generator::in_range(year_2023));
  const std::int64_t year_2094 = 3912710400000;  // past the 41 bits of milliseconds
  EXPECT_FALSE(g.next(year_2094).has_value());
  // Back in range: ids again, all distinct and non-zero.
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 200; ++i) {
    auto id = g.next(id_generator::epoch_ms + 1);
    ASSERT_TRUE(id.has_value());
    EXPECT_NE(*id, 0u);
    EXPECT_TRUE(seen.insert(*id).second);
  }
}
