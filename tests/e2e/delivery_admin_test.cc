// delivery_admin_test: the endpoints that act on deliveries - /retry delivers failed
// messages again, /cancel stops messages that have not started - and the rate limit.
#include <algorithm>
#include <cstdint>

#include "delivery_fixture.h"

namespace dmq::e2e {
namespace {

struct delivery_admin_test : delivery_test {
  void configure() override {
    dgfa.retry_times = 0;  // one try, then failure
    fghyds.retry_times = 0;
  }

  test::http_reply admin(const std::string& path, const json::object& body) const {
    return test::call(port, "POST", path, text(body));
  }
};

TEST_F(delivery_admin_test, retry_delivers_a_failed_message_again_now) {
  endpoint.when_path("/dgfa/", answer::with_status(500).first(1));  // fails once, then 200
  auto id = post(message("again"));
  ASSERT_TRUE(wait_status(id, "dgfa", "failure"));
  ASSERT_TRUE(in_pending(id, "dgfa"));

  auto r = admin("/api/message/retry", {{"consumer", "dgfa"}, {"msg_ids", json::array{id, 4242}}});
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(r.data().at(std::to_string(id)), json::value(true));
  EXPECT_EQ(r.data().at("4242"), json::value(false));  // never failed

  ASSERT_TRUE(wait_status(id, "dgfa", "done"));
  auto tries = endpoint.for_id(id, "/dgfa/");
  ASSERT_EQ(tries.size(), 2u) << describe(tries);
  EXPECT_EQ(tries[1].retry, 0) << "a retried message starts a fresh count of attempts";
  EXPECT_FALSE(in_pending(id, "dgfa"));
  // The other consumer was not touched: delivered once (once done, nothing more comes).
  ASSERT_TRUE(wait_status(id, "fghyds", "done"));
  EXPECT_EQ(endpoint.for_id(id, "/fghyds/").size(), 1u);
}

TEST_F(delivery_admin_test, retry_refuses_bad_input) {
  EXPECT_EQ(admin("/api/message/retry", {{"consumer", "nope"}, {"msg_ids", json::array{1}}}).code(),
            102);
  EXPECT_EQ(admin("/api/message/retry", {{"consumer", "dgfa"}, {"msg_ids", json::array{}}}).code(),
            102);
  EXPECT_EQ(test::call(port, "GET", "/api/message/retry").status, 405);
}

TEST_F(delivery_admin_test, cancel_stops_a_message_that_has_not_started) {
  auto id = post(message("later", 60000));
  auto r = admin("/api/message/cancel", {{"msg_id", id}});
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(r.data(), json::value(true));
  EXPECT_EQ(status(id, "dgfa"), "cancelled");
  EXPECT_EQ(status(id, "fghyds"), "cancelled");
  EXPECT_EQ(redis.cmd({"ZSCORE", "dmq:{sds}:q:dgfa", std::to_string(id)}).type,
            redis::reply::kind::nil);
  // Cancelling again, or an unknown id, is refused clearly.
  auto again = admin("/api/message/cancel", {{"msg_id", id}});
  EXPECT_EQ(again.code(), 126) << again.body;
  EXPECT_EQ(admin("/api/message/cancel", {{"msg_id", 4242}}).code(), 114);
  EXPECT_EQ(admin("/api/message/cancel", {{"msg_id", "x"}}).code(), 102);
}

TEST_F(delivery_admin_test, cancel_refuses_once_a_delivery_has_started) {
  endpoint.when_path("/dgfa/", answer::slow(300));  // within the timeout
  auto id = post(message("now"));
  ASSERT_TRUE(endpoint.wait_for_count(1, 5s));
  auto r = admin("/api/message/cancel", {{"msg_id", id}});
  EXPECT_EQ(r.code(), 126) << r.body;
  EXPECT_EQ(r.data(), json::value(false));
  EXPECT_TRUE(wait_status(id, "dgfa", "done", 5s));
}

struct delivery_rate_test : delivery_test {
  void configure() override { dgfa.more = {{"rate_per_sec", "20"}}; }

  // expect_spaced checks that the 40 attempts of dgfa came at 20 per second, a burst of up
  // to 20 first: the claims made by `before` + t (t >= 0) are at most 20 + t / 50, and a
  // request arrives after its claim. Counted from before the POST, not from the first
  // arrival, so that a slow machine cannot shrink it.
  void expect_spaced(std::int64_t before) {
    auto rs = endpoint.requests("/dgfa/");
    ASSERT_EQ(rs.size(), 40u) << describe(rs);
    std::int64_t last = 0;
    int in_first_500_ms = 0;
    for (const auto& r : rs) {
      last = std::max(last, r.arrived_ms - before);
      in_first_500_ms += r.arrived_ms - before < 500;
    }
    EXPECT_GE(last, 1000 - 50) << "the last 20 need 20 more tokens: a second\n" << describe(rs);
    EXPECT_LE(in_first_500_ms, 20 + 500 / 50) << describe(rs);
  }
};

TEST_F(delivery_rate_test, rate_per_sec_spaces_out_the_attempts) {
  auto before = now_ms();
  auto ids = post_many(40);
  ASSERT_EQ(ids.size(), 40u);
  ASSERT_TRUE(endpoint.wait_for_distinct("/dgfa/", 40, 10s));
  ASSERT_TRUE(endpoint.wait_for_distinct("/fghyds/", 40, 10s));
  expect_spaced(before);
  // fghyds has no limit: all 40 at once, well within the second the limit would need.
  auto fr = endpoint.requests("/fghyds/");
  ASSERT_EQ(fr.size(), 40u) << describe(fr);
  std::int64_t first = INT64_MAX, fghyds_last = 0;
  for (const auto& r : fr) {
    first = std::min(first, r.arrived_ms);
    fghyds_last = std::max(fghyds_last, r.arrived_ms);
  }
  EXPECT_LT(fghyds_last - first, 900) << describe(fr);
}

// With shards each claim splits its budget over them: the limit holds for the consumer
// as a whole, not per shard (7 shards would otherwise claim up to 7 a round).
struct delivery_rate_shards_test : delivery_rate_test {
  std::string config_dir(int http_port) override {
    auto d = delivery_test::config_dir(http_port);
    set_shards(d, "sds", 7);
    return d;
  }
};

TEST_F(delivery_rate_shards_test, rate_per_sec_holds_over_every_shard) {
  auto before = now_ms();
  auto ids = post_many(40);
  ASSERT_EQ(ids.size(), 40u);
  ASSERT_TRUE(endpoint.wait_for_distinct("/dgfa/", 40, 10s));
  expect_spaced(before);
}

}  // namespace
}  // namespace dmq::e2e
