// stale_ack_test: a delivery whose lease ran out is claimed again while its first attempt
// still runs; the late ack of the first must free only its own concurrency slot. Before,
// deliveries in flight were keyed by id alone: the second claim took the first's entry,
// the worker counted one delivery in flight for two, and started a third at a consumer
// whose concurrency is 2 (issue 12, section 2).
#include <algorithm>

#include "delivery_fixture.h"

namespace dmq::e2e {
namespace {

struct stale_ack_test : delivery_test {
  void configure() override {
    dgfa.more = {{"concurrency", "2"}};
    dgfa.timeout = 5000;  // a lease of 15 s: it runs out only when the test says so
    endpoint.when_path("/dgfa/", test::answer::slow(1500));
  }
};

// max_overlap returns the most requests that were being answered at one time.
int max_overlap(const std::vector<test::consumer_request>& rs) {
  std::vector<std::pair<std::int64_t, int>> edges;
  for (const auto& r : rs) {
    edges.push_back({r.arrived_ms, 1});
    edges.push_back({r.answered_ms ? r.answered_ms : INT64_MAX, -1});
  }
  std::sort(edges.begin(), edges.end());  // at one instant an answer (-1) counts first
  int now = 0, most = 0;
  for (const auto& e : edges) most = std::max(most, now += e.second);
  return most;
}

TEST_F(stale_ack_test, a_late_ack_frees_only_its_own_slot) {
  auto a = post(message("{\"a\":1}"));
  ASSERT_TRUE(endpoint.wait_until(
      [&](const auto& rs) {
        return std::count_if(rs.begin(), rs.end(),
                             [&](const auto& r) { return r.path.starts_with("/dgfa/"); }) >= 1;
      },
      5s));
  // Its lease runs out now (as if its dispatcher had stalled); a wake-up makes the worker
  // look at the queue, and it claims the message again: two attempts of one message run.
  auto q = std::string("dmq:{sds}:q:dgfa");
  redis.cmd({"ZADD", q, "XX", std::to_string(now_ms() - 1), std::to_string(a)});
  redis.cmd({"PUBLISH", "dmq:{sds}:wake", "dgfa " + std::to_string(now_ms())});
  auto id = "msg_id=" + std::to_string(a);
  ASSERT_TRUE(endpoint.wait_until(  // (the predicate runs under the endpoint's lock)
      [&](const auto& rs) {
        return std::count_if(rs.begin(), rs.end(), [&](const auto& r) {
                 return r.path.starts_with("/dgfa/") && r.target.find(id) != std::string::npos;
               }) >= 2;
      },
      5s))
      << "the message was not claimed again";
  // Three more messages, due now: with 2 attempts in flight, none may start until one ends.
  std::vector<std::uint64_t> more;
  for (int i = 0; i < 3; ++i) more.push_back(post(message("{\"m\":" + std::to_string(i) + "}")));
  for (auto id : more) EXPECT_TRUE(wait_status(id, "dgfa", "done", 15s)) << id;
  EXPECT_TRUE(wait_status(a, "dgfa", "done", 15s));
  auto rs = endpoint.requests("/dgfa/");
  EXPECT_LE(max_overlap(rs), 2) << "more attempts at once than the consumer's concurrency\n"
                                << describe(rs);
}

}  // namespace
}  // namespace dmq::e2e
