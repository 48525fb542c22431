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
