#include "storage/keys.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "storage/scripts.h"
#include "storage/wake.h"

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

// Every key a Lua script builds from a project's base ("<prefix>:{p}:" .. 'q:' .. consumer)
// must be one keys.h builds: the names come from one place for C++ and Lua.
TEST(keys, every_key_a_script_builds_from_a_base_is_one_keys_h_builds) {
  keys k("x");
  auto base = k.base("p");
  std::set<std::string> cpp;  // what follows the base in each kind of key, up to its first ':'
  for (const auto& key :
       {k.message("p", 1), k.queue("p", "c"), k.bucket("p", "c", "b"), k.heads("p", "c"),
        k.idempotency("p", "i"), k.pending("p", "c"), k.attempts("p", 1), k.rate("p", "c"),
        k.paused("p"), k.find_index("p", "r"), k.wake_channel("p")}) {
    ASSERT_EQ(key.rfind(base, 0), 0u) << key;
    auto rest = key.substr(base.size());
    auto colon = rest.find(':');
    cpp.insert(colon == std::string::npos ? rest : rest.substr(0, colon + 1));
  }
  // In the scripts: <a base variable> .. '<suffix>' (base, or ARGV[1] where it holds one).
  std::regex built(R"((?:\bbase|ARGV\[1\])\s*\.\.\s*'([^']*)')");
  dmq::storage::script_set scripts;
  int found = 0;
  for (const auto& s : scripts.all())
    for (std::sregex_iterator it(s.text.begin(), s.text.end(), built), end; it != end; ++it) {
      ++found;
      auto suffix = (*it)[1].str();
      if (suffix.starts_with(":")) {  // ARGV[1] holds the global prefix (node_acquire-1)
        EXPECT_EQ(k.global_prefix() + suffix + "0", k.node(0)) << s.name;
        continue;
      }
      EXPECT_TRUE(cpp.count(suffix))
          << s.name << " builds a key " << (*it)[1].str() << "... that keys.h does not";
    }
  EXPECT_GE(found, 15);  // the pattern still finds what the scripts build
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

TEST(keys, a_wake_message_names_its_consumer_and_reads_back) {
  using dmq::storage::wake_consumer;
  using dmq::storage::wake_message;
  EXPECT_EQ(wake_message("dgfa", 1700000000123), "dgfa 1700000000123");
  EXPECT_EQ(wake_consumer(wake_message("dgfa", 0)), "dgfa");
  // A consumer name with a space still reads back: the due time is after the last one.
  EXPECT_EQ(wake_consumer(wake_message("a b", 5)), "a b");
  // The Lua side builds the same message (scripts/lib/wake.lua).
  dmq::storage::script_set scripts;
  EXPECT_NE(scripts.get("save-1").text.find("consumer .. ' ' .. due_ms"), std::string::npos);
}
