// redis::cluster (src/redis/cluster.h), dmq's Redis Cluster client, against a real local
// cluster (support/redis_cluster.h): one pipeline over several masters answered in order,
// a WAIT that follows its write, MOVED after a slot moved under it, ASK while it moves.
#include "redis/cluster.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <future>

#include "redis/slot.h"
#include "support/redis_cluster.h"

namespace dmq::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct cluster_client : ::testing::Test {
  redis_cluster cluster;
  asio::io_context ioc;
  std::unique_ptr<redis::cluster> client;

  void SetUp() override {
    redis::cluster_options o;
    for (int p : cluster.ports()) o.seeds.push_back("127.0.0.1:" + std::to_string(p));
    client = std::make_unique<redis::cluster>(ioc.get_executor(), o);
    client->start();
    ASSERT_TRUE(run(client->wait_ready(10s)));
  }
  void TearDown() override {
    client->stop();
    ioc.run_for(50ms);
  }

  template <class T>
  T run(asio::awaitable<T> a) {
    auto f = asio::co_spawn(ioc, std::move(a), asio::use_future);
    auto until = std::chrono::steady_clock::now() + 20s;
    while (f.wait_for(0s) != std::future_status::ready) {
      if (std::chrono::steady_clock::now() > until) throw std::runtime_error("run: timed out");
      ioc.run_for(5ms);
    }
    return f.get();
  }
  redis::exec_result exec(const redis::command& c) { return run(client->exec(c)); }

  // keys_on_every_master returns one hash tag per master.
  std::vector<std::string> tags_on_every_master() {
    std::vector<std::string> tags;
    std::set<int> seen;
    for (int i = 0; i < 1000 && seen.size() < cluster.master_ports().size(); ++i) {
      auto tag = "t" + std::to_string(i);
      if (seen.insert(cluster.port_of_slot(redis::slot_of(tag))).second) tags.push_back(tag);
    }
    return tags;
  }
};

TEST_F(cluster_client, one_pipeline_over_every_master_is_answered_in_order) {
  auto tags = tags_on_every_master();
  ASSERT_EQ(tags.size(), 3u);
  redis::command c;
  for (const auto& t : tags) {
    c.push("SET", "{" + t + "}:k", "v-" + t);
    c.push("WAIT", "1", "1000");  // follows the SET to its master
    c.push("MULTI");
    c.push("INCR", "{" + t + "}:n");
    c.push("INCR", "{" + t + "}:n");
    c.push("EXEC");
  }
  for (const auto& t : tags) c.push("GET", "{" + t + "}:k");
  auto [ec, r] = exec(c);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_EQ(r.size(), c.count());
  for (std::size_t i = 0; i < tags.size(); ++i) {
    EXPECT_EQ(r[6 * i].str, "OK");
    EXPECT_EQ(r[6 * i + 1].integer, 1) << "WAIT ran on the master of its write";
    ASSERT_TRUE(r[6 * i + 5].is_array());
    EXPECT_EQ(r[6 * i + 5].elements[1].integer, 2);
    EXPECT_EQ(r[6 * tags.size() + i].str, "v-" + tags[i]) << "replies in the pipeline's order";
  }
  EXPECT_EQ(client->masters().size(), 3u);
}

TEST_F(cluster_client, a_slot_moved_under_it_is_followed_and_so_is_a_migration) {
  auto slot = redis::slot_of("mv");
  int from = cluster.port_of_slot(slot), to = 0;
  for (int p : cluster.master_ports())
    if (p != from) to = p;
  redis::command set;
  set.push("SET", "{mv}:a", "1");
  ASSERT_FALSE(exec(set).first);
  // Mid-migration: a key not moved yet is served by the source, a new one by the target (ASK).
  cluster.begin_migration(slot, to);
  ASSERT_EQ(cluster.move_keys(slot, 10), 1);  // {mv}:a now on the target
  redis::command get;
  get.push("GET", "{mv}:a");
  get.push("SET", "{mv}:b", "2");
  auto [ec, r] = exec(get);
  ASSERT_FALSE(ec);
  EXPECT_EQ(r[0].str, "1") << "followed ASK to the target";
  EXPECT_EQ(r[1].str, "OK");
  cluster.finish_migration(slot);
  // The map still names the source: MOVED, followed, and the map learns it.
  redis::command again;
  again.push("GET", "{mv}:b");
  auto [ec2, r2] = exec(again);
  ASSERT_FALSE(ec2);
  EXPECT_EQ(r2[0].str, "2");
  EXPECT_EQ(client->master_of(slot), "127.0.0.1:" + std::to_string(to));
}

}  // namespace
}  // namespace dmq::test
