// delivery_flow_test: per-consumer flow control - a consumer's concurrency cap holds, and a
// slow consumer does not hold up another consumer of the same messages.
#include <algorithm>

#include "delivery_fixture.h"

namespace dmq::e2e {
namespace {

// max_in_flight returns the most requests that were being answered at one moment, from
// their arrival and answer times: the most that were unanswered when one arrived, itself
// included (an answer at t ends before an arrival at t begins; a request answered within
// the millisecond it arrived still counts, for that moment, itself).
int max_in_flight(const std::vector<consumer_request>& rs) {
  int most = 0;
  for (const auto& r : rs) {
    int n = 0;
    for (const auto& q : rs) {
      auto answered = q.answered_ms ? q.answered_ms : INT64_MAX;
      n += &q == &r || (q.arrived_ms <= r.arrived_ms && answered > r.arrived_ms);
    }
    most = std::max(most, n);
  }
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
  ASSERT_TRUE(endpoint.wait_for_distinct("/fghyds/", 6, 5s)) << describe(endpoint.requests());
  EXPECT_GE(max_in_flight(endpoint.requests("/fghyds/")), 1);
  EXPECT_EQ(endpoint.distinct("/fghyds/"), 6u);
}

struct delivery_isolation_test : delivery_test {
  void configure() override {
    dgfa.timeout = 60000;
    dgfa.more = {{"concurrency", "1"}};
  }
};

TEST_F(delivery_isolation_test, a_slow_consumer_does_not_delay_another) {
  // dgfa answers its first delivery only after 30 s (the test ends long before): whatever
  // fghyds receives meanwhile did not wait for dgfa.
  endpoint.when_path("/dgfa/", answer::slow(30000));
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(post(message("{\"n\":" + std::to_string(i) + "}")));
  ASSERT_TRUE(endpoint.wait_for_distinct("/fghyds/", 5, 10s)) << describe(endpoint.requests());
  for (auto id : ids) EXPECT_TRUE(wait_status(id, "fghyds", "done")) << id;
  ASSERT_TRUE(endpoint.wait_for_distinct("/dgfa/", 1, 5s)) << describe(endpoint.requests());
  // Meanwhile dgfa has had one delivery at a time, the first still being answered.
  auto d = endpoint.requests("/dgfa/");
  ASSERT_EQ(d.size(), 1u) << describe(d);
  EXPECT_EQ(d[0].answered_ms, 0) << "fghyds's deliveries had to wait for dgfa's answer\n"
                                 << describe(endpoint.requests());
  EXPECT_EQ(max_in_flight(d), 1);
}

}  // namespace
}  // namespace dmq::e2e
