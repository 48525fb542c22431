// prefetch_test: deliveries are claimed a little before their due time
// (dispatch.prefetch_ms) and each is sent at its due time, never before
// (docs/delivery.md, "Claimed ahead, sent on time"); a message claimed ahead counts as
// started, so it can no longer be cancelled.
#include "delivery_fixture.h"

namespace dmq::e2e {
namespace {

struct prefetch_test : delivery_test {
  void configure() override {
    // a window wide enough to look into from a test on a loaded machine
    extra = "dispatch:\n  prefetch_ms: 1000\n";
  }
};

TEST_F(prefetch_test, a_delivery_is_claimed_ahead_and_sent_at_its_due_time) {
  auto id = post(message(R"({"order_id":7})", 3000));
  ASSERT_NE(id, 0u);
  // Claimed (status doing) before it is due...
  ASSERT_TRUE(test::wait_until([&] { return redis_status(id, "dgfa") == "doing"; }, 5s));
  auto claimed_at = now_ms();
  ASSERT_TRUE(endpoint.wait_for_distinct("/dgfa/", 1, 5s));
  auto r = endpoint.for_id(id, "/dgfa/").at(0);
  auto due_ms = std::stoll(r.header("X-Dmq-Scheduled-At"));
  EXPECT_LT(claimed_at, due_ms) << "claimed only when due";
  // ...and sent at its due time, not at its claim.
  EXPECT_GE(r.arrived_ms, due_ms) << "sent before it was due";
  EXPECT_LE(r.arrived_ms, due_ms + late_slack_ms);
}

TEST_F(prefetch_test, a_message_claimed_ahead_is_no_longer_cancelled) {
  auto id = post(message(R"({"order_id":8})", 3000));
  ASSERT_NE(id, 0u);
  ASSERT_TRUE(test::wait_until([&] { return redis_status(id, "dgfa") == "doing"; }, 5s));
  auto r = test::call(port, "POST", "/api/message/cancel", text(json::object{{"msg_id", id}}));
  EXPECT_EQ(r.code(), 126) << r.body;
  ASSERT_TRUE(endpoint.wait_for_distinct("/dgfa/", 1, 5s));
}

}  // namespace
}  // namespace dmq::e2e
