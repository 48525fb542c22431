// outcome_batch_test: a delivery's concurrency slot is freed once its attempt is answered,
// not once Redis has recorded the outcome; outcomes wait for Redis together (at most
// claim_batch of them beyond the attempts in flight: the bound on duplicates should the
// dispatcher die) and are recorded in one call each time Redis answers (docs/delivery.md,
// "At least once; nothing lost"). Before, each slot waited for its own ack: with Redis
// slow (a burst's acks behind a W2 load's saves), a burst went no faster than
// concurrency acks per round trip.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "delivery_fixture.h"

namespace dmq::e2e {
namespace {

constexpr int concurrency = 2;
constexpr int claim_batch = 8;

struct outcome_batch_test : delivery_test {
  void configure() override {
    dgfa.more = {{"concurrency", std::to_string(concurrency)}};
    // leases of 10 s (the most: timeout + lease_margin_ms): none runs out while Redis is
    // paused, so nothing is claimed twice
    extra = "dispatch:\n  claim_batch: " + std::to_string(claim_batch) +
            "\n  heartbeat_lease_ms: 10000\n";
  }
  // Redis is paused for seconds below: a read timeout of 10 s, so that the dispatcher waits
  // for its answers instead of counting them lost.
  std::string config_dir(int http_port) override {
    auto d = delivery_test::config_dir(http_port);
    auto file = std::filesystem::path(d) / "config.yaml";
    std::stringstream text;
    text << std::ifstream(file).rdbuf();
    auto s = text.str();
    auto at = s.find("read_timeout: 1\n");
    EXPECT_NE(at, std::string::npos);
    if (at != std::string::npos) s.replace(at, 16, "read_timeout: 10\n");
    std::ofstream(file) << s;
    return d;
  }
  // leased counts the queue's members whose score is a lease (in the future).
  std::int64_t leased() const {
    return redis.cmd({"ZCOUNT", "dmq:{sds}:q:dgfa", "(" + std::to_string(now_ms() + 500), "+inf"})
        .integer;
  }
};

TEST_F(outcome_batch_test, slots_are_freed_on_answer_and_outcomes_wait_for_redis_together) {
  constexpr int n = 20;
  // Every answer to dgfa takes 100 ms: its claims are over before the first answer.
  endpoint.when_path("/dgfa/", answer::slow(100));
  auto ids = post_many(n);
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(n));
  ASSERT_TRUE(test::wait_until([&] { return leased() == n; }, 5s)) << leased();
  // Redis stops running writes (the scripts: acks, claims, renewals) for 6 s.
  redis.cmd({"CLIENT", "PAUSE", "6000", "WRITE"});
  // What dgfa had answered by now bounds what Redis may have recorded.
  int answered_before = 0;
  for (const auto& r : endpoint.requests("/dgfa/")) answered_before += r.answered_ms != 0;
  auto sent = [](int k) {
    return [k](const std::vector<consumer_request>& rs) {
      return std::count_if(rs.begin(), rs.end(),
                           [](const auto& r) { return r.path.starts_with("/dgfa/"); }) >= k;
    };
  };
  // dgfa is sent more than concurrency attempts while no outcome can be recorded...
  EXPECT_TRUE(endpoint.wait_until(sent(concurrency + claim_batch), 4s))
      << "slots wait for Redis: " << endpoint.requests("/dgfa/").size() << " requests";
  // ...but no more than concurrency + claim_batch beyond what Redis may have recorded.
  const int bound = std::min(n, answered_before + concurrency + claim_batch);
  EXPECT_FALSE(endpoint.wait_until(sent(bound + 1), 500ms))
      << endpoint.requests("/dgfa/").size() << " requests, " << answered_before
      << " answered before the pause";
  redis.cmd({"CLIENT", "UNPAUSE"});
  // Then every outcome is recorded, none lost, none sent twice.
  for (auto id : ids) EXPECT_TRUE(wait_status(id, "dgfa", "done", 10s)) << id;
  EXPECT_EQ(endpoint.distinct("/dgfa/"), static_cast<std::size_t>(n));
  EXPECT_EQ(endpoint.requests("/dgfa/").size(), static_cast<std::size_t>(n)) << "a duplicate";
  EXPECT_EQ(redis.cmd({"ZCARD", "dmq:{sds}:q:dgfa"}).integer, 0);
}

}  // namespace
}  // namespace dmq::e2e
