// The test harness's Redis Cluster (support/redis_cluster.h): it starts whole and in sync,
// computes slots as Redis does, routes commands and follows MOVED and ASK, survives a killed
// master, restarts a node, migrates a slot; and redis_target, one test body against a single
// Redis and a cluster.
#include "support/redis_cluster.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "support/dmq_process.h"
#include "support/ports.h"
#include "support/redis_server.h"

namespace dmq::test {
namespace {

using namespace std::chrono_literals;

std::string info_field(const std::string& info, const std::string& name) {
  auto at = info.find(name + ":");
  if (at == std::string::npos) return "";
  at += name.size() + 1;
  return info.substr(at, info.find_first_of("\r\n", at) - at);
}

// another_master returns a live master other than port.
int another_master(const redis_cluster& c, int port) {
  for (int p : c.master_ports())
    if (p != port) return p;
  return -1;
}

TEST(redis_cluster_test, starts_whole_with_every_slot_served_and_replicas_in_sync) {
  auto t0 = std::chrono::steady_clock::now();
  redis_cluster c;
  auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  std::cout << "cluster of 6 nodes up in " << took.count() << " ms\n";
  RecordProperty("startup_ms", static_cast<int>(took.count()));

  ASSERT_EQ(c.ports().size(), 6u);
  ASSERT_EQ(c.master_ports().size(), 3u);
  int covered = 0;
  auto slots = c.cmd({"CLUSTER", "SLOTS"});
  ASSERT_TRUE(slots.is_array()) << slots.str;
  for (const auto& r : slots.elements) covered += r.elements[1].integer - r.elements[0].integer + 1;
  EXPECT_EQ(covered, 16384);
  int replicas = 0;
  for (int port : c.ports()) {
    auto info = redis_cmd(port, {}, {"CLUSTER", "INFO"}).str;
    EXPECT_EQ(info_field(info, "cluster_state"), "ok") << port;
    EXPECT_EQ(info_field(info, "cluster_slots_ok"), "16384") << port;
    EXPECT_EQ(info_field(info, "cluster_known_nodes"), "6") << port;
    EXPECT_EQ(redis_cmd(port, {}, {"CLUSTER", "SLOTS"}).elements.size(), slots.elements.size());
    auto repl = redis_cmd(port, {}, {"INFO", "replication"}).str;
    if (info_field(repl, "role") == "slave") {
      ++replicas;
      EXPECT_EQ(info_field(repl, "master_link_status"), "up") << port;
    }
  }
  EXPECT_EQ(replicas, 3);
  EXPECT_EQ(c.cmd({"PING"}).str, "PONG");
}

TEST(redis_cluster_test, slot_of_is_redis_s_keyslot) {
  // The Redis Cluster spec's check value: CRC16("123456789") = 0x31C3.
  EXPECT_EQ(redis_cluster::slot_of("123456789"), 0x31C3);
  EXPECT_EQ(redis_cluster::slot_of("{user1000}.following"), redis_cluster::slot_of("user1000"));

  redis_cluster c;
  std::vector<std::string> keys = {
      "",          "{}",    "{a",       "a{}b",       "{}{a}",         "{a}}",
      "}{a}",      "{{a}}", "a{b}c{d}", "{a}{b}",     "a}b{c}",        "{",
      "}",         "{ab}",  "x{ab}y",   "foo{}{bar}", "dmq:{sds}:m:1", "dmq:{dmq}:events",
      "\xff{\x01}"};
  std::mt19937 rng(15);
  const std::string alphabet = "ab{}:xyz01\xfe";
  while (keys.size() < 1000) {
    std::string k;
    auto len = std::uniform_int_distribution<int>(0, 12)(rng);
    for (int i = 0; i < len; ++i) {
      if (keys.size() % 3 == 0)  // any byte
        k += static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
      else
        k += alphabet[static_cast<std::size_t>(
            std::uniform_int_distribution<int>(0, static_cast<int>(alphabet.size()) - 1)(rng))];
    }
    keys.push_back(k);
  }
  std::vector<std::vector<std::string>> asks;
  for (const auto& k : keys) asks.push_back({"CLUSTER", "KEYSLOT", k});
  auto replies = redis_cmds(c.ports().front(), asks);
  ASSERT_EQ(replies.size(), keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i)
    EXPECT_EQ(redis_cluster::slot_of(keys[i]), replies[i].integer) << "key '" << keys[i] << "'";
}

TEST(redis_cluster_test, cmd_routes_by_the_first_key_and_follows_moved_from_another_node) {
  redis_cluster c;
  // Routed by key from the start: no redirect for keys over every master.
  for (int i = 0; i < 30; ++i) {
    auto k = "key-" + std::to_string(i);
    EXPECT_EQ(c.cmd({"SET", k, "v" + std::to_string(i)}).str, "OK");
    EXPECT_EQ(c.cmd({"HSET", "h-" + k, "f", "x"}).integer, 1);
    EXPECT_EQ(c.cmd({"ZADD", "z-" + k, "5", "m"}).integer, 1);
    EXPECT_FALSE(c.cmd({"XADD", "s-" + k, "*", "f", "x"}).is_error());
  }
  for (int i = 0; i < 30; ++i) {
    auto k = "key-" + std::to_string(i);
    EXPECT_EQ(c.cmd({"GET", k}).str, "v" + std::to_string(i));
    EXPECT_EQ(c.cmd({"HGET", "h-" + k, "f"}).str, "x");
    EXPECT_EQ(c.cmd({"ZSCORE", "z-" + k, "m"}).str, "5");
    EXPECT_EQ(c.cmd({"XRANGE", "s-" + k, "-", "+"}).elements.size(), 1u);
    EXPECT_EQ(c.cmd({"EVAL", "return redis.call('GET', KEYS[1])", "1", k}).str,
              "v" + std::to_string(i));
    EXPECT_EQ(c.cmd({"OBJECT", "ENCODING", "z-" + k}).str, "listpack");
  }
  EXPECT_EQ(c.redirects().moved, 0);
  EXPECT_EQ(c.redirects().ask, 0);

  // Asked first of a node that does not serve the key: MOVED, followed.
  int owner = c.port_of_slot(redis_cluster::slot_of("key-7"));
  int other = another_master(c, owner);
  ASSERT_GT(other, 0);
  EXPECT_TRUE(redis_cmd(other, {}, {"GET", "key-7"}).str.starts_with("MOVED "));
  EXPECT_EQ(c.cmd_via(other, {"GET", "key-7"}).str, "v7");
  EXPECT_EQ(c.redirects().moved, 1);

  // Keyless commands go to a master; the keys are spread over every master.
  EXPECT_EQ(c.cmd({"PING"}).str, "PONG");
  long long total = 0;
  for (const auto& r : c.on_every_master({"DBSIZE"})) {
    EXPECT_GT(r.integer, 0);
    total += r.integer;
  }
  EXPECT_EQ(total, 120);
  EXPECT_EQ(c.scan_keys("key-*").size(), 30u);
  EXPECT_EQ(c.scan_keys().size(), 120u);
}

TEST(redis_cluster_test, a_slot_migrated_step_by_step_is_served_through_ask_then_moved) {
  redis_cluster c;
  int slot = redis_cluster::slot_of("{mig}");
  int from = c.port_of_slot(slot);
  int to = another_master(c, from);
  ASSERT_GT(to, 0);
  ASSERT_EQ(c.cmd({"SET", "{mig}a", "1"}).str, "OK");
  ASSERT_EQ(c.cmd({"SET", "{mig}b", "2"}).str, "OK");

  c.begin_migration(slot, to);
  EXPECT_EQ(c.move_keys(slot, 1), 1);
  // One key moved, one not: the source answers the one it has, ASK for the other.
  EXPECT_EQ(c.cmd({"GET", "{mig}a"}).str + c.cmd({"GET", "{mig}b"}).str, "12");
  EXPECT_EQ(c.redirects().ask, 1);
  // A new key goes to the target (the source has not got it: ASK).
  EXPECT_EQ(c.cmd({"SET", "{mig}c", "3"}).str, "OK");
  EXPECT_EQ(c.redirects().ask, 2);
  EXPECT_EQ(redis_cmds(to, {{"ASKING"}, {"GET", "{mig}c"}})[1].str, "3");
  EXPECT_EQ(c.port_of_slot(slot), from);

  c.finish_migration(slot);
  EXPECT_EQ(c.port_of_slot(slot), to);
  for (int port : c.ports()) {
    auto slots = redis_cmd(port, {}, {"CLUSTER", "SLOTS"});
    for (const auto& r : slots.elements) {
      if (slot >= r.elements[0].integer && slot <= r.elements[1].integer) {
        EXPECT_EQ(r.elements[2].elements[1].integer, to) << "as node " << port << " says";
      }
    }
  }
  EXPECT_EQ(redis_cmd(to, {}, {"DBSIZE"}).integer, 3);
  EXPECT_EQ(c.scan_keys("{mig}*").size(), 3u);
  EXPECT_EQ(c.cmd_via(from, {"GET", "{mig}a"}).str, "1");  // MOVED from the old owner
  EXPECT_EQ(c.redirects().moved, 1);
  EXPECT_EQ(c.cmd({"GET", "{mig}b"}).str + c.cmd({"GET", "{mig}c"}).str, "23");
}

TEST(redis_cluster_test, a_killed_master_s_replica_takes_over_with_what_was_acknowledged) {
  redis_cluster c;
  int slot = redis_cluster::slot_of("safe");
  auto wrote = c.pipeline({{"SET", "safe", "kept"}, {"WAIT", "1", "2000"}});
  ASSERT_EQ(wrote[0].str, "OK");
  ASSERT_EQ(wrote[1].integer, 1);  // the replica has it

  int killed = c.kill_master_of(slot);
  EXPECT_FALSE(c.alive(killed));
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.wait_failover(slot, 20s));
  std::cout << "failover in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - t0)
                   .count()
            << " ms\n";
  int now = c.port_of_slot(slot);
  EXPECT_NE(now, killed);
  EXPECT_EQ(c.master_ports().size(), 3u);
  EXPECT_EQ(c.cmd({"GET", "safe"}).str, "kept");

  // Back again: it rejoins as the new master's replica, in sync.
  c.restart(killed);
  EXPECT_TRUE(c.alive(killed));
  EXPECT_EQ(info_field(redis_cmd(killed, {}, {"INFO", "replication"}).str, "role"), "slave");
  EXPECT_EQ(c.port_of_slot(slot), now);
  EXPECT_EQ(c.cmd({"GET", "safe"}).str, "kept");
  EXPECT_EQ(c.cmd({"SET", "after", "x"}).str, "OK");
}

// redis_target: one test body against a single Redis and a cluster.
class redis_target_test : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam())
      target = std::make_unique<redis_cluster>();
    else
      target = std::make_unique<redis_server>();
  }
  std::unique_ptr<redis_target> target;
};

TEST_P(redis_target_test, stores_scans_and_names_itself_for_dmq) {
  auto& r = *target;
  EXPECT_EQ(r.is_cluster(), GetParam());
  for (int i = 0; i < 50; ++i)
    ASSERT_EQ(r.cmd({"SET", "dmq:{p" + std::to_string(i) + "}:m:1", "x"}).str, "OK");
  ASSERT_EQ(r.cmd({"SET", "other", "x"}).str, "OK");
  EXPECT_EQ(r.scan_keys("dmq:*").size(), 50u);
  EXPECT_EQ(r.scan_keys().size(), 51u);
  EXPECT_EQ(r.cmd({"GET", "dmq:{p7}:m:1"}).str, "x");
  auto yaml = r.config_yaml();
  if (r.is_cluster()) {
    EXPECT_TRUE(yaml.starts_with("  cluster: [127.0.0.1:")) << yaml;
    EXPECT_EQ(std::count(yaml.begin(), yaml.end(), ','), 5) << yaml;
  } else {
    auto port = static_cast<redis_server&>(r).port();
    EXPECT_EQ(yaml, "  host: 127.0.0.1\n  port: " + std::to_string(port) + "\n");
  }
  EXPECT_EQ(yaml.back(), '\n');

  // dmq takes it: `dmq check --redis` with these lines under redis: connects and approves.
  auto dir = make_config_dir(1, free_port());
  std::string config;
  {
    std::ifstream in(dir + "/config.yaml");
    config.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto at = config.find("  host: 127.0.0.1\n  port: 1\n");
  ASSERT_NE(at, std::string::npos) << config;
  config.replace(at, std::string("  host: 127.0.0.1\n  port: 1\n").size(), yaml);
  std::ofstream(dir + "/config.yaml", std::ios::trunc) << config;
  std::string out;
  FILE* p = ::popen(
      (std::string("timeout 20 ") + DMQ_BINARY + " check --redis " + dir + " 2>&1").c_str(), "r");
  ASSERT_TRUE(p);
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  EXPECT_EQ(::pclose(p), 0) << out << "\n" << config;
  remove_config_dir(dir);
}

INSTANTIATE_TEST_SUITE_P(single_and_cluster, redis_target_test, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "cluster" : "single"; });

}  // namespace
}  // namespace dmq::test
