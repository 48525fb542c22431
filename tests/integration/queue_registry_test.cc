// queue_registry_test: the registries of queue keys (keys::queue_registry, ordered_registry)
// that spare the dispatcher's start-up audit a walk of the whole keyspace: saves enlist
// their queues, the audit reads them, and a Redis whose registries were never filled is
// scanned once.
#include <gtest/gtest.h>

#include "storage/store.h"
#include "store_fixture.h"

using namespace dmq;
using namespace std::chrono_literals;
using test::store_test;

namespace {

struct queue_registry_test : store_test {
  // scans counts the SCAN commands Redis has run.
  long long scans() {
    auto info = redis.cmd({"INFO", "commandstats"}).str;
    auto at = info.find("cmdstat_scan:calls=");
    return at == std::string::npos ? 0 : std::stoll(info.substr(at + 19));
  }
  // registered waits (bounded) until set holds key: enlisting runs after the save's answer.
  bool registered(const std::string& set, const std::string& key) {
    auto until = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < until) {
      if (redis.cmd({"SISMEMBER", set, key}).integer == 1) return true;
      ioc.run_for(5ms);
    }
    return false;
  }
  std::vector<storage::store::queue_size> queues() {
    auto [ec, q] = run(store.queues());
    EXPECT_FALSE(ec) << ec.message();
    return q;
  }
};

TEST_F(queue_registry_test, saves_enlist_their_queues_and_the_audit_reads_them_without_a_scan) {
  auto plain = msg(7001);
  auto in_order = msg(7002);
  save({plain});
  save_ordered({&in_order});
  EXPECT_TRUE(registered(keys.queue_registry(), keys.queue("sds", "dgfa")));
  EXPECT_TRUE(registered(keys.queue_registry(), keys.queue("sds", "fghyds")));
  EXPECT_TRUE(registered(keys.ordered_registry(), keys.queue("sds", "dgfa")));

  // The first look finds no sign that the registries were ever complete: it scans once.
  auto before = scans();
  auto first = queues();
  EXPECT_GT(scans(), before);
  EXPECT_EQ(redis.cmd({"EXISTS", keys.registry_complete()}).integer, 1);
  ASSERT_EQ(first.size(), 2u);
  for (const auto& q : first) EXPECT_EQ(q.size, 2) << q.consumer;  // 7001 and 7002's head

  // From then on: the registries only.
  before = scans();
  auto again = queues();
  EXPECT_EQ(scans(), before);
  ASSERT_EQ(again.size(), 2u);
  // Nothing to release (every ordered queue still ordered): no SCAN for buckets either.
  auto [ec, released] = run(store.unbucket([](const auto&, const auto&) { return false; }));
  EXPECT_FALSE(ec);
  EXPECT_TRUE(released.empty());
  EXPECT_EQ(scans(), before);
  // A command no longer ordered: its buckets are found (SCAN) and released.
  auto [ec2, freed] = run(store.unbucket(
      [](const std::string& p, const std::string& c) { return p == "sds" && c == "dgfa"; }));
  EXPECT_FALSE(ec2);
  EXPECT_GT(scans(), before);
  ASSERT_EQ(freed.size(), 1u);
  EXPECT_EQ(freed[0].consumer, "dgfa");
}

// A Redis written before the registries (or a queue made by hand): found by the one SCAN,
// and registered for the next look.
TEST_F(queue_registry_test, queues_written_before_the_registries_are_found_once_and_kept) {
  redis.cmd({"ZADD", keys.queue("old", "gone"), "1", "42"});
  auto found = queues();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].project, "old");
  EXPECT_EQ(found[0].consumer, "gone");
  EXPECT_EQ(found[0].size, 1);
  EXPECT_EQ(redis.cmd({"SISMEMBER", keys.queue_registry(), keys.queue("old", "gone")}).integer, 1);
  auto before = scans();
  EXPECT_EQ(queues().size(), 1u);
  EXPECT_EQ(scans(), before);
  // Emptied (FLUSHALL, a new Redis): the sign goes with it, and the next look scans again.
  redis.cmd({"FLUSHALL"});
  redis.cmd({"ZADD", keys.queue("new", "c"), "1", "43"});
  auto after_flush = queues();
  ASSERT_EQ(after_flush.size(), 1u);
  EXPECT_EQ(after_flush[0].project, "new");
}

}  // namespace
