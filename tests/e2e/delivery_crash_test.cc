// delivery_crash_test: dispatchers as separate `dmq server` processes, fed by a `dmq client`.
// A dispatcher killed with SIGKILL mid-drain loses nothing (its leases run out and another
// delivers them: at least once, with at most the deliveries it had in flight delivered
// twice); two dispatchers sharing a backlog deliver each message exactly once.
#include <csignal>
#include <iostream>

#include "delivery_fixture.h"

namespace dmq::e2e {
namespace {

// missing returns how many of ids never arrived.
std::size_t missing(const std::vector<std::uint64_t>& ids,
                    const std::multiset<std::uint64_t>& got) {
  std::size_t n = 0;
  for (auto id : ids) n += got.count(id) == 0;
  return n;
}

// duplicates returns how many arrivals repeated an id that had arrived before.
std::size_t duplicates(const std::multiset<std::uint64_t>& got) {
  std::set<std::uint64_t> distinct(got.begin(), got.end());
  return got.size() - distinct.size();
}

std::int64_t since(std::int64_t t0) {
  return now_ms() - t0;
}

// How many messages the kill test posts: 10,000 fit the time budget on 2 cores (see the
// report printed by the test).
constexpr int crash_messages = 10000;
constexpr int default_concurrency = 64;
// A dispatcher frees a slot once its attempt is answered and records the outcomes of up to
// dispatch.claim_batch (default 256) answered deliveries together: what it may have
// delivered without Redis knowing is concurrency + claim_batch (docs/delivery.md).
constexpr int default_claim_batch = 256;

struct delivery_crash_test : delivery_test {
  void configure() override {
    start_run = false;
    // Leases run out 2000 + 500 ms after a claim: a dead dispatcher's deliveries are due
    // again within a few seconds. (A shorter timeout would let a loaded machine time out
    // answers, and their retries would count as duplicates.)
    dgfa.timeout = fghyds.timeout = 2000;
    extra = "dispatch:\n  lease_margin_ms: 500\n";
  }
};

TEST_F(delivery_crash_test, kill_9_mid_drain_loses_nothing_and_duplicates_only_what_was_in_flight) {
  auto& client = start("client");
  auto t0 = now_ms();
  auto ids = post_many(crash_messages, client.port());
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(crash_messages));
  auto posted = since(t0);

  auto* server = &start("server");
  auto t1 = now_ms();
  ASSERT_TRUE(endpoint.wait_for_count(2000, 20s))
      << "received " << endpoint.count() << "; server exit " << server->wait_exit(0) << "\n"
      << server->log();
  server->signal(SIGKILL);
  EXPECT_EQ(server->wait_exit(5000), 128 + SIGKILL);
  auto at_kill = endpoint.count();
  auto killed_after = since(t1);

  auto t2 = now_ms();
  server = &start("server");
  bool all = endpoint.wait_for_distinct("/dgfa/", ids.size(), 60s) &&
             endpoint.wait_for_distinct("/fghyds/", ids.size(), 60s);
  auto drained = since(t2);
  EXPECT_TRUE(server->running()) << server->log();

  for (const char* path : {"/dgfa/", "/fghyds/"}) {
    auto got = endpoint.ids_received(path);
    EXPECT_EQ(missing(ids, got), 0u) << path << ": messages lost (waited: " << all << ")";
    auto dup = duplicates(got);
    EXPECT_LE(dup, static_cast<std::size_t>(default_concurrency + default_claim_batch))
        << path << ": more duplicates than deliveries the killed dispatcher could have had "
        << "sent or answered and not recorded";
    std::cout << "[ delivery ] " << path << " received " << got.size() << " for " << ids.size()
              << " messages: " << dup << " duplicates\n";
  }
  std::cout << "[ delivery ] " << crash_messages << " messages posted in " << posted
            << " ms; killed after " << killed_after << " ms at " << at_kill
            << " requests; the second dispatcher finished in " << drained << " ms\n";
}

// The consumers' timeout is the fixture's 5 s: an answer a loaded machine delays past a
// short timeout would be retried, and the retry counted as a duplicate.
struct delivery_sharing_test : delivery_test {
  void configure() override {
    start_run = false;
    extra = "disable_success_log: 0\n";  // one log line per delivery done
  }
};

TEST_F(delivery_sharing_test, two_dispatchers_share_a_backlog_and_deliver_each_message_once) {
  auto& client = start("client");
  auto& a = start("server");
  auto& b = start("server");
  auto t0 = now_ms();
  auto ids = post_many(3000, client.port());
  ASSERT_EQ(ids.size(), 3000u);
  ASSERT_TRUE(endpoint.wait_for_distinct("/dgfa/", 3000, 30s) &&
              endpoint.wait_for_distinct("/fghyds/", 3000, 30s))
      << "exit codes " << a.wait_exit(0) << " " << b.wait_exit(0) << "\n"
      << a.log().substr(0, 2000) << b.log().substr(0, 2000);
  // Every delivery acknowledged: the queues are empty.
  EXPECT_TRUE(test::wait_until(
      [&] {
        return redis.cmd({"ZCARD", "dmq:{sds}:q:dgfa"}).integer == 0 &&
               redis.cmd({"ZCARD", "dmq:{sds}:q:fghyds"}).integer == 0;
      },
      10s));
  auto took = since(t0);
  for (const char* path : {"/dgfa/", "/fghyds/"}) {
    auto got = endpoint.ids_received(path);
    EXPECT_EQ(got.size(), 3000u) << path;
    EXPECT_EQ(missing(ids, got), 0u) << path;
    EXPECT_EQ(duplicates(got), 0u) << path;
  }
  // Each dispatcher logged the deliveries it made: together, each one once.
  auto done_lines = [](const std::string& log) {
    std::size_t n = 0;
    for (std::size_t at = 0; (at = log.find(": done (attempt", at)) != std::string::npos; ++at) ++n;
    return n;
  };
  auto na = done_lines(a.log()), nb = done_lines(b.log());
  EXPECT_EQ(na + nb, 6000u);
  EXPECT_GT(na, 0u);
  EXPECT_GT(nb, 0u);
  EXPECT_TRUE(a.running());
  EXPECT_TRUE(b.running());
  std::cout << "[ delivery ] 3000 messages x 2 consumers in " << took << " ms; dispatcher A made "
            << na << " deliveries, B " << nb << "\n";
}

}  // namespace
}  // namespace dmq::e2e
