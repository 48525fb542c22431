// The pure parts of the Redis Cluster client: hash slots, splitting a pipeline into units,
// and reading MOVED / ASK. (The client itself runs against a real cluster:
// tests/e2e/cluster_test.cc.)
#include <gtest/gtest.h>

#include "redis/reply.h"
#include "redis/routing.h"
#include "redis/slot.h"
#include "storage/keys.h"
#include "storage/scripts.h"
#include "temp_config.h"

namespace dmq {
namespace {

TEST(cluster_routing, crc16_is_xmodem) {
  // The check value of CRC-16/XMODEM, and the example of the Redis Cluster spec.
  EXPECT_EQ(redis::crc16("123456789"), 0x31C3);
  EXPECT_EQ(redis::crc16(""), 0);
}

TEST(cluster_routing, slots_follow_hash_tags_as_redis_does) {
  // Values from CLUSTER KEYSLOT on redis-server 7.0.
  EXPECT_EQ(redis::slot_of("foo"), 12182);
  EXPECT_EQ(redis::slot_of("dmq:{sds}:x"), 2114);
  EXPECT_EQ(redis::slot_of("dmq:{svs}:x"), 11603);
  EXPECT_EQ(redis::slot_of("dmq:{global}:x"), 10408);
  // The tag is what lies between the first '{' and the next '}'.
  EXPECT_EQ(redis::slot_of("{user1000}.following"), redis::slot_of("{user1000}.followers"));
  EXPECT_EQ(redis::slot_of("foo{}{bar}"), redis::slot_of("foo{}{bar}"));
  EXPECT_NE(redis::slot_of("foo{}{bar}"), redis::slot_of("bar"));  // "{}" is no tag: all hashed
  EXPECT_EQ(redis::slot_of("foo{{bar}}zap"), redis::slot_of("{bar"));
  EXPECT_EQ(redis::slot_of("foo{bar}{zap}"), redis::slot_of("bar"));
  EXPECT_EQ(redis::slot_of("{a"), redis::crc16("{a") & 16383);
}

redis::command pipeline() {
  redis::command c;
  c.push("GET", "{a}:1");                       // 0
  c.push("WAIT", "1", "100");                   // 1: follows 0
  c.push("MULTI");                              // 2
  c.push("SET", "{b}:x", "v");                  // 3
  c.push("ZADD", "{b}:q", "1", "m");            // 4
  c.push("EXEC");                               // 5
  c.push("EVALSHA", "sha", "1", "{c}:k", "a");  // 6
  c.push("EVALSHA", "sha", "0", "a");           // 7: no key
  c.push("SPUBLISH", "{d}:wake", "m");          // 8: the channel routes it
  c.push("PUBLISH", "{e}:wake", "m");           // 9: plain PUBLISH goes anywhere
  return c;
}

TEST(cluster_routing, a_pipeline_parses_back_into_its_commands) {
  auto c = pipeline();
  auto parsed = redis::parse_pipeline(c.bytes());
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->size(), c.count());
  EXPECT_EQ((*parsed)[4].args.size(), 4u);
  EXPECT_EQ((*parsed)[4].args[3], "m");
  std::string joined;
  for (const auto& p : *parsed) joined += p.bytes;
  EXPECT_EQ(joined, c.bytes());
  EXPECT_FALSE(redis::parse_pipeline("*1\r\n$3\r\nGE"));
  EXPECT_FALSE(redis::parse_pipeline("PING\r\n"));
  EXPECT_FALSE(redis::parse_pipeline("*1\r\n$9\r\nGET\r\n"));
  // Found while writing the cluster_routing fuzz target: a count beyond the bytes left was reserved
  // whole, a length near 2^64 wrapped the bounds check, leading zeros and a missing CRLF
  // after an argument were let through.
  EXPECT_FALSE(redis::parse_pipeline("*99999999999999\r\n"));
  EXPECT_FALSE(redis::parse_pipeline("*1\r\n$18446744073709551615\r\nGET\r\n"));
  EXPECT_FALSE(redis::parse_pipeline("*01\r\n$3\r\nGET\r\n"));
  EXPECT_FALSE(redis::parse_pipeline("*1\r\n$3\r\nGETxx"));
}

TEST(cluster_routing, units_keep_a_transaction_whole_and_take_the_first_key) {
  auto c = pipeline();
  auto parsed = redis::parse_pipeline(c.bytes());
  auto units = redis::units_of(*parsed);
  ASSERT_EQ(units.size(), 7u);
  EXPECT_EQ(units[0].slot, redis::slot_of("{a}:1"));
  EXPECT_EQ(units[1].slot, -1);  // WAIT
  EXPECT_TRUE(units[2].transaction);
  EXPECT_EQ(units[2].first, 2u);
  EXPECT_EQ(units[2].last, 5u);
  EXPECT_EQ(units[2].slot, redis::slot_of("b"));
  EXPECT_EQ(units[3].slot, redis::slot_of("c"));
  EXPECT_EQ(units[4].slot, -1);
  EXPECT_EQ(units[5].slot, redis::slot_of("d"));
  EXPECT_EQ(units[6].slot, -1);
}

TEST(cluster_routing, redirects_are_read_and_anything_else_is_not_one) {
  auto m = redis::parse_redirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->ask);
  EXPECT_EQ(m->slot, 3999);
  EXPECT_EQ(m->host, "127.0.0.1");
  EXPECT_EQ(m->port, 6381);
  auto a = redis::parse_redirect("ASK 1 ::1:7000");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->ask);
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 7000);
  auto no_host = redis::parse_redirect("MOVED 12 :7001");
  ASSERT_TRUE(no_host);
  EXPECT_EQ(no_host->host, "");
  EXPECT_FALSE(redis::parse_redirect("MOVED 16384 127.0.0.1:1"));
  EXPECT_FALSE(redis::parse_redirect("MOVED x 127.0.0.1:1"));
  EXPECT_FALSE(redis::parse_redirect("MOVED 1 127.0.0.1"));
  EXPECT_FALSE(redis::parse_redirect("ERR MOVED 1 127.0.0.1:1"));
  EXPECT_FALSE(redis::parse_redirect("MOVED 12x 127.0.0.1:1"));
  EXPECT_FALSE(redis::parse_redirect("MOVED 12 127.0.0.1:65536"));
  EXPECT_EQ(redis::split_address("h:99999").second, 0) << "a port is at most 65535";
  EXPECT_EQ(redis::split_address("::1:7000"), (std::pair<std::string, int>{"::1", 7000}));
  EXPECT_EQ(redis::split_address("host").second, 0);
  EXPECT_EQ(redis::split_address("h:7x").second, 0);
  EXPECT_TRUE(redis::retryable("TRYAGAIN Multiple keys request during rehashing of slot"));
  EXPECT_TRUE(redis::retryable("CLUSTERDOWN The cluster is down"));
  EXPECT_FALSE(redis::retryable("ERR unknown command"));
}

TEST(cluster_routing, global_keys_share_one_tag_in_cluster_mode_and_keep_their_names_otherwise) {
  storage::keys single("dmq"), cluster("dmq", true);
  EXPECT_EQ(single.node(3), "dmq:node:3");
  EXPECT_EQ(single.dispatchers(), "dmq:dispatchers");
  EXPECT_EQ(single.publish(), "PUBLISH");
  EXPECT_EQ(cluster.node(3), "dmq:{global}:node:3");
  EXPECT_EQ(cluster.publish(), "SPUBLISH");
  EXPECT_EQ(cluster.subscribe(), "SSUBSCRIBE");
  for (const auto& k : {cluster.node_clock(3), cluster.dispatchers(), cluster.dispatcher("h:1"),
                        cluster.events(), cluster.tail(), cluster.job("j"), cluster.jobs()})
    EXPECT_EQ(redis::slot_of(k), redis::slot_of(cluster.node(0))) << k;
  // A project's keys are in its own slot in both modes.
  EXPECT_EQ(cluster.message("sds", 1), single.message("sds", 1));
  EXPECT_EQ(redis::slot_of(cluster.wake_channel("sds")), redis::slot_of(cluster.queue("sds", "c")));
}

TEST(cluster_routing, scripts_publish_wake_ups_on_sharded_channels_in_cluster_mode) {
  storage::script_set plain, sharded(true);
  int plain_publish = 0;
  for (const auto& s : plain.all()) {
    plain_publish += s.text.find(storage::script_set::publish_call) != std::string::npos;
    EXPECT_EQ(s.text.find("redis.call('SPUBLISH'"), std::string::npos) << s.name;
  }
  EXPECT_GE(plain_publish, 3);  // save-1, retry-2, reschedule-1
  for (const auto& s : sharded.all())
    EXPECT_EQ(s.text.find(storage::script_set::publish_call), std::string::npos) << s.name;
  EXPECT_NE(sharded.get("save-1").text.find("redis.call('SPUBLISH'"), std::string::npos);
}

TEST(cluster_routing, config_reads_cluster_seeds_and_refuses_db_and_embedded_with_them) {
  unit::temp_config dir;
  const std::string products = "product_list:\n  - project: a\n    allow_ip: [127.0.0.1]\n";
  auto s = dir.settings(
      products + "redis:\n  cluster: [127.0.0.1:7000, 'localhost:7001']\n  wait_replicas: 1\n");
  EXPECT_TRUE(s.redis.is_cluster());
  ASSERT_EQ(s.redis.cluster.size(), 2u);
  EXPECT_EQ(s.redis.cluster[1], "localhost:7001");
  EXPECT_EQ(s.redis.wait_replicas, 1);
  auto problems = [&](const std::string& yaml) {
    std::string out;
    for (const auto& p : dir.load(products + yaml).problems) out += p.to_string() + "\n";
    return out;
  };
  EXPECT_NE(problems("redis:\n  cluster: [127.0.0.1:7000]\n  db: 2\n").find("redis.db"),
            std::string::npos);
  EXPECT_NE(
      problems("redis:\n  cluster: [127.0.0.1:7000]\n  embedded: true\n").find("redis.embedded"),
      std::string::npos);
  EXPECT_NE(problems("redis:\n  cluster: [127.0.0.1]\n").find("redis.cluster[0]"),
            std::string::npos);
  EXPECT_NE(problems("redis:\n  cluster: [127.0.0.1:70000]\n").find("host:port"),
            std::string::npos);
  EXPECT_NE(problems("redis:\n  cluster: 127.0.0.1:7000\n").find("list"), std::string::npos);
}

}  // namespace
}  // namespace dmq
