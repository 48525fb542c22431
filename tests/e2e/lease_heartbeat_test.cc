// lease_heartbeat_test: leases are short and renewed by their live dispatcher
// (dispatch.heartbeat_lease_ms; docs/delivery.md, "Leases and heartbeats"). After kill -9 of
// a dispatcher, what it had in flight is delivered again within seconds of a restart (not
// after the consumer's timeout + lease margin); while a dispatcher lives, a consumer slower
// than the short lease gets each delivery once.
#include <csignal>
#include <iostream>

#include "delivery_fixture.h"

namespace dmq::e2e {
namespace {

// the consumers' concurrency: every message of the kill test is in flight at once
constexpr int in_flight_cap = 8;

struct lease_heartbeat_test : delivery_test {
  void configure() override {
    start_run = false;
    // A lease without heartbeats would be 5 s + 10 s: far past the 3 s the test allows.
    for (auto* c : {&dgfa, &fghyds}) {
      c->timeout = 5000;
      c->more["concurrency"] = std::to_string(in_flight_cap);
    }
  }
  // highest_score returns the highest score of a consumer's queue (0 if empty).
  std::int64_t highest_score(const std::string& consumer) {
    auto r = redis.cmd({"ZRANGE", "dmq:{sds}:q:" + consumer, "-1", "-1", "WITHSCORES"});
    return r.elements.size() == 2 ? r.elements[1].as_int().value_or(0) : 0;
  }
};

TEST_F(lease_heartbeat_test, after_kill_9_what_was_in_flight_is_delivered_again_within_3_s) {
  // Each message's first attempt takes 4 s (longer than the 2 s lease: the heartbeat keeps
  // it); the second answers at once.
  endpoint.set_default(test::answer::slow(4000).first(1));
  auto& client = start("client");
  auto ids = post_many(12, client.port());
  ASSERT_EQ(ids.size(), 12u);

  auto* server = &start("server");
  ASSERT_TRUE(endpoint.wait_for_count(2 * in_flight_cap, 20s)) << server->log();
  auto first = endpoint.requests().front().arrived_ms;
  // Mid-attempt, after the dispatcher renewed its leases at least once (a lease past the
  // claim's 2 s): so the kill comes after a renewal, as it would in a long drain.
  ASSERT_TRUE(test::wait_until(
      [&] {
        return highest_score("dgfa") > first + 2300 && highest_score("fghyds") > first + 2300;
      },
      5s))
      << server->log();
  server->signal(SIGKILL);
  EXPECT_EQ(server->wait_exit(5000), 128 + SIGKILL);
  auto killed_at = now_ms();
  std::map<std::string, std::set<std::uint64_t>> in_flight;  // path -> ids
  for (const auto& r : endpoint.requests()) in_flight[r.path].insert(r.msg_id);
  ASSERT_EQ(in_flight.size(), 2u);

  server = &start("server");
  for (const auto& [path, got] : in_flight) {
    EXPECT_EQ(got.size(), static_cast<std::size_t>(in_flight_cap)) << path;
    for (auto id : got) {
      ASSERT_TRUE(endpoint.wait_until(
          [&](const std::vector<test::consumer_request>& rs) {
            int n = 0;
            for (const auto& r : rs) n += r.path == path && r.msg_id == id;
            return n >= 2;
          },
          15s))
          << path << " " << id << " not delivered again\n"
          << server->log();
      auto again = endpoint.for_id(id, path);
      ASSERT_GE(again.size(), 2u);
      EXPECT_LE(again[1].arrived_ms - killed_at, 3000)
          << path << " " << id << ": delivered again " << again[1].arrived_ms - killed_at
          << " ms after the kill";
    }
  }
  // Nothing lost, and nothing but what was in flight delivered twice.
  ASSERT_TRUE(endpoint.wait_for_distinct("/dgfa/", ids.size(), 20s) &&
              endpoint.wait_for_distinct("/fghyds/", ids.size(), 20s))
      << server->log();
  for (const auto& [path, leased] : in_flight)
    for (auto id : ids) {
      auto n = endpoint.for_id(id, path).size();
      EXPECT_EQ(n, leased.count(id) ? 2u : 1u) << path << " " << id;
    }
  std::cout << "[ lease ] first in-flight request at +0, kill at +" << killed_at - first << " ms\n";
}

struct lease_renewal_test : lease_heartbeat_test {
  void configure() override {
    lease_heartbeat_test::configure();
    extra = "dispatch:\n  heartbeat_lease_ms: 1000\n";
  }
};

TEST_F(lease_renewal_test, a_consumer_slower_than_the_lease_gets_each_delivery_once) {
  // Every attempt takes 3 s, three times the lease; two dispatchers share the queues, so a
  // lease that ran out would be claimed again by one of them.
  endpoint.set_default(test::answer::slow(3000));
  auto& client = start("client");
  auto& a = start("server");
  auto& b = start("server");
  auto ids = post_many(6, client.port());
  ASSERT_EQ(ids.size(), 6u);
  for (auto id : ids)
    for (const char* c : {"dgfa", "fghyds"})
      EXPECT_TRUE(test::wait_until([&] { return redis_status(id, c) == "done"; }, 20s))
          << id << " " << c << ": " << redis_status(id, c);
  for (auto id : ids)
    for (const char* path : {"/dgfa/", "/fghyds/"})
      EXPECT_EQ(endpoint.for_id(id, path).size(), 1u)
          << path << " " << id << ": delivered more than once\n"
          << describe(endpoint.for_id(id, path));
  EXPECT_TRUE(a.running());
  EXPECT_TRUE(b.running());
}

}  // namespace
}  // namespace dmq::e2e
