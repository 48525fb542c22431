#include "storage/keys.h"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>

#include "redis/slot.h"
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

TEST(keys, shard_zero_keeps_the_project_tag_and_the_others_have_their_own) {
  keys k("dmq", false, {{"sds", 3}});
  EXPECT_EQ(k.shards("sds"), 3);
  EXPECT_EQ(k.shards("other"), 1);
  auto tags = k.tags("sds");
  ASSERT_EQ(tags.size(), 3u);
  EXPECT_EQ(tags[0], "sds") << "today's keys";
  EXPECT_TRUE(tags[1].starts_with("sds~1")) << tags[1];
  EXPECT_TRUE(tags[2].starts_with("sds~2")) << tags[2];
  EXPECT_EQ(k.tags("other"), (std::vector<std::string>{"other"}));
  EXPECT_EQ(k.queue(k.tag("sds", 2), "dgfa"), "dmq:{" + tags[2] + "}:q:dgfa");
  EXPECT_EQ(k.message(k.tag("sds", 0), 7), "dmq:{sds}:m:7");
}

// The shards sit one per K-th of the slot space, so a cluster whose masters split the slots
// evenly (redis-cli --cluster create) holds K / masters of them each.
TEST(keys, shards_sit_evenly_over_the_slot_space) {
  for (int k : {2, 3, 6, 9, 12, 64})
    for (const char* project : {"sds", "orders", "a"}) {
      keys names("dmq", true, {{project, k}});
      std::set<int> windows;
      for (const auto& t : names.tags(project)) {
        int slot = dmq::redis::slot_of(names.queue(t, "c"));
        windows.insert(slot * k / dmq::redis::slot_count);
        if (t != project) {  // the others away from their window's edges
          int w = slot * k / dmq::redis::slot_count;
          int lo = w * dmq::redis::slot_count / k, hi = (w + 1) * dmq::redis::slot_count / k;
          EXPECT_GE(slot - lo, (hi - lo) / 4 - 1) << t;
          EXPECT_GE(hi - slot, (hi - lo) / 4) << t;
        }
      }
      EXPECT_EQ(windows.size(), static_cast<std::size_t>(k)) << project << " k=" << k;
      for (int masters : {1, 2, 3}) {
        if (k % masters) continue;
        std::map<int, int> per_master;  // contiguous equal ranges, as --cluster create makes
        for (const auto& t : names.tags(project))
          ++per_master[dmq::redis::slot_of(names.queue(t, "c")) * masters / dmq::redis::slot_count];
        for (auto [m, n] : per_master) EXPECT_EQ(n, k / masters) << project << " master " << m;
      }
    }
}

TEST(keys, a_message_goes_to_its_buckets_then_its_keys_then_its_ids_shard) {
  keys k("dmq", false, {{"sds", 5}});
  for (std::uint64_t id = 100; id < 110; ++id) EXPECT_EQ(k.shard_of("sds", id, "", ""), id % 5);
  // One bucket, one shard, whatever the ids; the same for an idempotency key.
  int b = k.shard_of("sds", 1, "bucket-9", "");
  int key = k.shard_of("sds", 1, "", "key-9");
  std::set<int> seen;
  for (std::uint64_t id = 0; id < 20; ++id) {
    EXPECT_EQ(k.shard_of("sds", id, "bucket-9", "key-1"), b);
    EXPECT_EQ(k.shard_of("sds", id, "", "key-9"), key);
    seen.insert(k.shard_of("sds", 0, "bucket-" + std::to_string(id), ""));
  }
  EXPECT_GT(seen.size(), 2u) << "buckets spread over the shards";
  EXPECT_EQ(k.shard_of("unsharded", 7, "bucket-9", "key"), 0);
  EXPECT_EQ(k.tag("sds", k.shard_of("sds", 12, "", "")), k.tag("sds", 2));
}

TEST(keys, a_tag_names_its_project_only_for_a_configured_shard) {
  keys k("dmq", false, {{"a", 3}});
  EXPECT_EQ(k.project_of("a"), "a");
  EXPECT_EQ(k.project_of(k.tag("a", 1)), "a");
  EXPECT_EQ(k.project_of(k.tag("a", 2)), "a");
  EXPECT_EQ(k.project_of("a~9"), "a~9") << "a shard no longer configured";
  EXPECT_EQ(k.project_of("b~1"), "b~1");
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
