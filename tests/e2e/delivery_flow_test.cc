// delivery_flow_test: per-consumer flow control - a consumer's concurrency cap holds, and a
// slow consumer does not hold up another consumer of the same messages.
#include <algorithm>

#include "delivery_fixture.h"

namespace dmq::e2e {
namespace {

// max_in_flight returns the most requests that were being answered at one moment, from
// their arrival and answer times (an answer at t ends before an arrival at t begins).
int max_in_flight(const std::vector<consumer_request>& rs) {
  std::vector<std::pair<std::int64_t, int>> events;
  for (const auto& r : rs) {
    events.push_back({r.arrived_ms, +1});
    events.push_back({r.answered_ms ? r.answered_ms : INT64_MAX, -1});
  }
  std::sort(events.begin(), events.end());  // at equal times -1 sorts before +1
  int now = 0, most = 0;
  for (auto [t, d] : events) most = std::max(most, now += d);
  return most;
}

struct delivery_concurrency_test : delivery_test {
  void configure() override { dgfa.more = {{"concurrency", "2"}}; }
};

TEST_F(delivery_concurrency_test, never_more_than_concurrency_requests_in_flight) {
  endpoint.when_path("/dgfa/", answer::slow(300));
  json::array batch;
  for (int i = 0; i < 6; ++i) batch.push_back(message("{\"n\":" + std::to_string(i) + "}"));
  auto t0 = now_ms();
  auto r = test::call(port, "POST", "/api/message/batch", text(batch));
  ASSERT_EQ(r.code(), 0) << r.body;
  std::vector<std::uint64_t> ids;
  auto data = r.data();
  for (const auto& v : data.as_array()) ids.push_back(static_cast<std::uint64_t>(v.as_int64()));

  // 6 deliveries, 2 at a time, 300 ms each: about 900 ms.
  ASSERT_TRUE(endpoint.wait_until(
      [](const std::vector<consumer_request>& rs) {
        return std::count_if(rs.begin(), rs.end(), [](const consumer_request& q) {
                 return q.path.starts_with("/dgfa/") && q.answered_ms > 0;
               }) >= 6;
      },
      5s))
      << describe(endpoint.requests("/dgfa/"));
  auto rs = endpoint.requests("/dgfa/");
  EXPECT_EQ(rs.size(), 6u) << describe(rs);
  EXPECT_LE(max_in_flight(rs), 2) << describe(rs);
  EXPECT_EQ(max_in_flight(rs), 2) << "6 due at once: both slots should be used\n" << describe(rs);
  EXPECT_GE(rs.back().answered_ms - t0, 900 - 10) << describe(rs);
  for (auto id : ids) {
    EXPECT_TRUE(wait_status(id, "dgfa", "done")) << id;
    EXPECT_EQ(endpoint.for_id(id, "/dgfa/").size(), 1u) << id;
  }
  // fghyds (concurrency 64) took all 6 at once.
  EXPECT_GE(max_in_flight(endpoint.requests("/fghyds/")), 1);
  EXPECT_EQ(endpoint.distinct("/fghyds/"), 6u);
}

struct delivery_isolation_test : delivery_test {
  void configure() override {
    dgfa.timeout = 3000;
    dgfa.more = {{"concurrency", "1"}};
  }
};

TEST_F(delivery_isolation_test, a_slow_consumer_does_not_delay_another) {
  endpoint.when_path("/dgfa/", answer::slow(2000));
  auto t0 = now_ms();
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(post(message("{\"n\":" + std::to_string(i) + "}")));
  ASSERT_TRUE(endpoint.wait_for_distinct("/fghyds/", 5, 2s)) << describe(endpoint.requests());
  auto rs = endpoint.requests("/fghyds/");
  for (const auto& r : rs) EXPECT_LE(r.arrived_ms - t0, 500) << describe(rs);
  for (auto id : ids) EXPECT_TRUE(wait_status(id, "fghyds", "done", 1s)) << id;
  // Meanwhile dgfa has had one delivery at a time, the first still being answered.
  auto d = endpoint.requests("/dgfa/");
  EXPECT_EQ(d.size(), 1u) << describe(d);
  EXPECT_EQ(max_in_flight(d), 1);
}

}  // namespace
}  // namespace dmq::e2e
