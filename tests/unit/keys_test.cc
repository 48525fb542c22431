#include "storage/keys.h"

#include <gtest/gtest.h>

using dmq::storage::keys;

TEST(keys, every_project_key_carries_the_project_hash_tag) {
  keys k("dmq");
  EXPECT_EQ(k.base("sds"), "dmq:{sds}:");
  EXPECT_EQ(k.message("sds", 42), "dmq:{sds}:m:42");
  EXPECT_EQ(k.queue("sds", "dgfa"), "dmq:{sds}:q:dgfa");
  EXPECT_EQ(k.pending("sds", "dgfa"), "dmq:{sds}:pending:dgfa");
  EXPECT_EQ(k.wake_channel("sds"), "dmq:{sds}:wake");
}

TEST(keys, lua_suffixes_match_the_cpp_names) {
  keys k("x");
  EXPECT_EQ(k.message("p", 7), k.base("p") + std::string(keys::message_suffix) + "7");
}

TEST(keys, prefix_is_configurable_and_node_keys_are_global) {
  keys k("other");
  EXPECT_EQ(k.queue("svs", "wet234"), "other:{svs}:q:wet234");
  EXPECT_EQ(k.node(3), "other:node:3");
  EXPECT_EQ(k.node_clock(3), "other:node:3:clock");
}

TEST(keys, scan_patterns_and_their_keys_parsed_back) {
  dmq::storage::keys k("dm*q");
  EXPECT_EQ(k.queues_pattern(), "dm\\*q:{*}:q:*");
  EXPECT_EQ(k.buckets_pattern(), "dm\\*q:{*}:b:*");
  auto q = k.parse_queue(k.queue("sds", "dg:fa"));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->first, "sds");
  EXPECT_EQ(q->second, "dg:fa");
  auto b = k.parse_bucket(k.bucket("s:ds", "dg:fa", "order:1}x"));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->first, "s:ds");
  EXPECT_EQ(b->second, "dg:fa");
  EXPECT_FALSE(k.parse_queue("dm*q:{sds}:m:1"));
  EXPECT_FALSE(k.parse_bucket("dm*q:{sds}:b:9:dgfa:x"));
  EXPECT_FALSE(k.parse_queue("other:{sds}:q:dgfa"));
}
