// page_merge_test: one page of a sharded list from its shards' pages (storage::merge_pages).
#include <gtest/gtest.h>

#include "storage/browse.h"

using dmq::storage::merge_pages;
using dmq::storage::page;

namespace {

page shard(std::int64_t count, std::vector<std::pair<std::int64_t, std::uint64_t>> entries,
           std::string next = "") {
  page p;
  p.count = count;
  for (auto [score, id] : entries) p.list.push_back({id, score, "cmd", ""});
  p.next_cursor = std::move(next);
  return p;
}

std::vector<std::uint64_t> ids(const page& p) {
  std::vector<std::uint64_t> out;
  for (const auto& e : p.list) out.push_back(e.id);
  return out;
}

}  // namespace

TEST(merge_pages, one_shard_is_its_own_page) {
  auto p = merge_pages({shard(9, {{1, 10}, {2, 11}}, "2:11")}, 2);
  EXPECT_EQ(ids(p), (std::vector<std::uint64_t>{10, 11}));
  EXPECT_EQ(p.next_cursor, "2:11");
  EXPECT_EQ(p.count, 9);
}

TEST(merge_pages, entries_in_score_then_id_order_and_counts_add_up) {
  auto p = merge_pages({shard(2, {{5, 20}, {7, 21}}), shard(3, {{5, 12}, {6, 30}, {9, 31}})}, 10);
  EXPECT_EQ(ids(p), (std::vector<std::uint64_t>{12, 20, 30, 21, 31}));
  EXPECT_EQ(p.count, 5);
  EXPECT_EQ(p.next_cursor, "") << "every shard is done";
}

// Ids order as Redis orders members of equal score: by their bytes ("100" < "99").
TEST(merge_pages, equal_scores_order_ids_by_their_bytes) {
  auto p = merge_pages({shard(1, {{5, 99}}), shard(1, {{5, 100}})}, 10);
  EXPECT_EQ(ids(p), (std::vector<std::uint64_t>{100, 99}));
}

TEST(merge_pages, a_full_page_ends_at_its_last_entry) {
  // Each shard answered its first 2 (its page was full: a cursor at its last entry).
  auto p = merge_pages({shard(4, {{1, 1}, {3, 3}}, "3:3"), shard(4, {{2, 2}, {4, 4}}, "4:4")}, 2);
  EXPECT_EQ(ids(p), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(p.next_cursor, "2:2");
  EXPECT_EQ(p.count, 8);
}

// A shard whose look ran out of budget at (3, 3) knows nothing past it: the merged page
// stops there even with room left, and goes on from there.
TEST(merge_pages, no_entry_past_a_shards_next_cursor) {
  auto p = merge_pages({shard(9, {{1, 1}}, "3:3"), shard(2, {{2, 2}, {4, 4}})}, 10);
  EXPECT_EQ(ids(p), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(p.next_cursor, "3:3");
}

TEST(merge_pages, the_last_page_has_no_cursor) {
  auto p = merge_pages({shard(1, {{1, 1}}), shard(1, {{2, 2}})}, 2);
  EXPECT_EQ(ids(p), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(p.next_cursor, "") << "full, but nothing is left anywhere";
}
