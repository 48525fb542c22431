// ids_test: ids stay unique under concurrent producers, within one process and across
// two `dmq client` processes sharing one Redis (each leases its own id node).
#include <atomic>
#include <mutex>
#include <thread>

#include "fixture.h"

namespace dmq::e2e {
namespace {

using ids_test = dmq_test;

// post_many sends n single POSTs on one keep-alive connection, for at most bound; returns
// the ids in the order they were answered (an id of 0 for a failure).
std::vector<std::uint64_t> post_many(int port, int n, std::chrono::milliseconds bound) {
  std::vector<std::uint64_t> ids;
  auto until = std::chrono::steady_clock::now() + bound;
  test::http_client c(port);
  for (int i = 0; i < n && std::chrono::steady_clock::now() < until; ++i) {
    auto r = c.request("POST", "/api/message/single", text(order("b" + std::to_string(i))));
    auto d = r.data();
    ids.push_back(r.code() == 0 && d.is_int64() ? static_cast<std::uint64_t>(d.get_int64()) : 0);
  }
  return ids;
}

int id_node(int port) {
  return test::call(port, "GET", "/healthz").data().at("id_node").to_number<int>();
}

TEST_F(ids_test, concurrent_producers_get_unique_increasing_ids) {
  constexpr int threads = 8, each = 200;
  std::vector<std::vector<std::uint64_t>> got(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] { got[t] = post_many(port, each, 60s); });
  for (auto& th : pool) th.join();

  std::set<std::uint64_t> all;
  for (int t = 0; t < threads; ++t) {
    ASSERT_EQ(got[t].size(), static_cast<std::size_t>(each))
        << "thread " << t << " ran out of time";
    for (std::size_t i = 0; i < got[t].size(); ++i) {
      ASSERT_NE(got[t][i], 0u) << "thread " << t << " message " << i << " not saved";
      EXPECT_LT(got[t][i], two_pow_53);
      if (i > 0) {
        EXPECT_GT(got[t][i], got[t][i - 1]) << "thread " << t << " message " << i;
      }
    }
    all.insert(got[t].begin(), got[t].end());
  }
  EXPECT_EQ(all.size(), static_cast<std::size_t>(threads * each)) << "an id was issued twice";
  EXPECT_EQ(message_keys().size(), all.size());
  int node = id_node(port);
  for (auto id : all) ASSERT_EQ(node_of(id), node) << id;
}

TEST_F(ids_test, concurrent_batches_get_unique_ids) {
  constexpr int threads = 4, batches = 10, per_batch = 100;
  std::vector<std::vector<std::uint64_t>> got(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      test::http_client c(port);
      json::array a;
      for (int i = 0; i < per_batch; ++i) a.push_back(order());
      for (int b = 0; b < batches; ++b) {
        auto r = c.request("POST", "/api/message/batch", text(a));
        auto data = r.data();
        for (const auto& v : data.as_array())
          got[t].push_back(v.is_int64() ? static_cast<std::uint64_t>(v.get_int64()) : 0);
      }
    });
  for (auto& th : pool) th.join();
  std::set<std::uint64_t> all;
  for (const auto& g : got) {
    ASSERT_EQ(g.size(), static_cast<std::size_t>(batches * per_batch));
    for (auto id : g) ASSERT_NE(id, 0u);
    all.insert(g.begin(), g.end());
  }
  EXPECT_EQ(all.size(), static_cast<std::size_t>(threads * batches * per_batch));
  EXPECT_EQ(message_keys().size(), all.size());
}

TEST_F(ids_test, two_processes_on_one_redis_lease_different_nodes_and_share_no_id) {
  int port2 = test::free_port();
  auto dir2 = test::make_config_dir(redis.port(), port2);
  auto second = start_dmq(dir2, port2);
  int node1 = id_node(port), node2 = id_node(port2);
  EXPECT_NE(node1, node2);
  EXPECT_GE(node1, 0);
  EXPECT_GE(node2, 0);
  EXPECT_EQ(redis.cmd({"EXISTS", "dmq:node:" + std::to_string(node1)}).integer, 1);
  EXPECT_EQ(redis.cmd({"EXISTS", "dmq:node:" + std::to_string(node2)}).integer, 1);

  constexpr int threads = 3, each = 150;
  std::vector<std::vector<std::uint64_t>> got1(threads), got2(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] { got1[t] = post_many(port, each, 60s); });
    pool.emplace_back([&, t] { got2[t] = post_many(port2, each, 60s); });
  }
  for (auto& th : pool) th.join();

  std::set<std::uint64_t> all;
  for (int t = 0; t < threads; ++t) {
    ASSERT_EQ(got1[t].size(), static_cast<std::size_t>(each));
    ASSERT_EQ(got2[t].size(), static_cast<std::size_t>(each));
    for (auto id : got1[t]) ASSERT_EQ(node_of(id), node1) << id;
    for (auto id : got2[t]) ASSERT_EQ(node_of(id), node2) << id;
    all.insert(got1[t].begin(), got1[t].end());
    all.insert(got2[t].begin(), got2[t].end());
  }
  EXPECT_EQ(all.size(), static_cast<std::size_t>(2 * threads * each)) << "an id was shared";
  EXPECT_EQ(message_keys().size(), all.size());
  EXPECT_EQ(second->stop(), 0);
  test::remove_config_dir(dir2);
}

TEST_F(ids_test, a_redis_that_lost_the_leases_does_not_let_two_processes_share_a_node) {
  // Redis restarts empty (no persistence): the lease of the running process is gone. A
  // process started now must not issue ids as the same node as the running one.
  int node1 = id_node(port);
  redis.stop();
  // dmq has seen Redis go (or a /healthz from before could pass for one after the restart).
  ASSERT_TRUE(test::wait_until([&] { return !healthy(); }, 10s));
  redis.start();
  ASSERT_TRUE(test::wait_until([&] { return healthy(); }, 10s));
  int port2 = test::free_port();
  auto dir2 = test::make_config_dir(redis.port(), port2);
  auto second = start_dmq(dir2, port2);
  std::vector<std::uint64_t> first_ids, second_ids;
  std::thread a([&] { first_ids = post_many(port, 200, 5s); });
  std::thread b([&] { second_ids = post_many(port2, 200, 5s); });
  a.join();
  b.join();
  std::set<std::uint64_t> all(first_ids.begin(), first_ids.end());
  all.insert(second_ids.begin(), second_ids.end());
  EXPECT_EQ(all.size(), first_ids.size() + second_ids.size()) << "ids issued twice";
  std::set<int> nodes1, nodes2;
  for (auto id : first_ids) nodes1.insert(node_of(id));
  for (auto id : second_ids) nodes2.insert(node_of(id));
  for (int n : nodes1)
    EXPECT_EQ(nodes2.count(n), 0u)
        << "both processes issue ids as node " << n << " (first was node " << node1
        << " before the restart): ids can collide until the first renews its lease (<= 5 s)";
  EXPECT_EQ(second->stop(), 0);
  test::remove_config_dir(dir2);
}

TEST_F(ids_test, no_id_node_means_messages_are_refused_and_healthz_is_not_200) {
  // Every one of the 32 nodes is leased by some other process: this one cannot issue ids.
  for (int n = 0; n < 32; ++n)
    redis.cmd({"SET", "dmq:node:" + std::to_string(n), "someone-else", "PX", "60000"});
  int port2 = test::free_port();
  auto dir2 = test::make_config_dir(redis.port(), port2);
  test::dmq_process second(dir2, port2, "client", /*wait_healthy=*/false);
  ASSERT_TRUE(test::wait_until(
      [&] {
        try {
          return test::call(port2, "GET", "/healthz").status > 0;
        } catch (...) {
          return false;
        }
      },
      10s))
      << second.log();

  auto r = test::call(port2, "POST", "/api/message/single", text(order()));
  EXPECT_EQ(r.code(), 106) << r.body;
  EXPECT_EQ(r.data(), false);
  auto h = test::call(port2, "GET", "/healthz");
  EXPECT_EQ(h.data().at("id_node"), -1) << h.body;
  EXPECT_EQ(h.status, 503) << "/healthz says 200 while every message is refused: " << h.body;

  // A node comes free: the process leases it and takes messages.
  redis.cmd({"DEL", "dmq:node:7"});
  ASSERT_TRUE(test::wait_until([&] { return ready_for_messages(port2); }, 10s)) << second.log();
  EXPECT_EQ(test::call(port2, "GET", "/healthz").data().at("id_node"), 7);
  auto ok = test::call(port2, "POST", "/api/message/single", text(order()));
  ASSERT_EQ(ok.code(), 0) << ok.body;
  EXPECT_EQ(node_of(id_of(ok)), 7);
  EXPECT_EQ(second.stop(), 0);
  test::remove_config_dir(dir2);
}

TEST_F(ids_test, a_restarted_process_issues_ids_above_its_predecessors) {
  auto before = saved(order());
  EXPECT_EQ(dmq->stop(), 0);
  dmq = start_dmq(dir, port);
  auto after = saved(order());
  EXPECT_GT(after, before);
}

}  // namespace
}  // namespace dmq::e2e
