// delivery_admin_test: the endpoints that act on deliveries - /retry delivers failed
// messages again, /cancel stops messages that have not started - and the rate limit.
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

  auto r = admin("/api/message/retry",
                 {{"consumer", "dgfa"}, {"msg_ids", json::array{id, 4242}}});
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(r.data().at(std::to_string(id)), json::value(true));
  EXPECT_EQ(r.data().at("4242"), json::value(false));  // never failed

  ASSERT_TRUE(wait_status(id, "dgfa", "done"));
  auto tries = endpoint.for_id(id, "/dgfa/");
  ASSERT_EQ(tries.size(), 2u) << describe(tries);
  EXPECT_EQ(tries[1].retry, 0) << "a retried message starts a fresh count of attempts";
  EXPECT_FALSE(in_pending(id, "dgfa"));
  // The other consumer was not touched.
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
  endpoint.when_path("/dgfa/", answer::slow(300));  // within the 600 ms timeout
  auto id = post(message("now"));
  ASSERT_TRUE(endpoint.wait_for_count(1, 5s));
  auto r = admin("/api/message/cancel", {{"msg_id", id}});
  EXPECT_EQ(r.code(), 126) << r.body;
  EXPECT_EQ(r.data(), json::value(false));
  EXPECT_TRUE(wait_status(id, "dgfa", "done", 5s));
}

struct delivery_rate_test : delivery_test {
  void configure() override { dgfa.more = {{"rate_per_sec", "20"}}; }
};

TEST_F(delivery_rate_test, rate_per_sec_spaces_out_the_attempts) {
  auto ids = post_many(40);
  ASSERT_EQ(ids.size(), 40u);
  ASSERT_TRUE(endpoint.wait_for_distinct("/dgfa/", 40, 10s));
  auto rs = endpoint.requests("/dgfa/");
  // 40 attempts at 20 per second (a burst of up to 20 first): at least about a second.
  auto span = rs.back().arrived_ms - rs.front().arrived_ms;
  EXPECT_GE(span, 900) << describe(rs);
  // fghyds has no limit: all 40 at once.
  auto fr = endpoint.requests("/fghyds/");
  ASSERT_EQ(fr.size(), 40u);
  EXPECT_LT(fr.back().arrived_ms - fr.front().arrived_ms, 500);
}

}  // namespace
}  // namespace dmq::e2e
