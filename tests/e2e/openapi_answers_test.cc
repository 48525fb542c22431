// openapi_answers_test: answers of the endpoints that read what a running dispatcher
// leaves (a message's attempts, its consumers' states, delivery events, stats), asked for
// through the API after a delivery that failed, so that the ctest openapi_responses
// validates them against docs/openapi.json (it checks the shapes; this test only that
// the answers are successes and refusals as documented).
#include "delivery_fixture.h"

namespace dmq::e2e {
namespace {

struct openapi_answers_test : delivery_test {
  void configure() override {
    dgfa.retry_times = 1;  // two attempts, then failure
    dgfa.interval = 100;
  }
  http_reply get(const std::string& target) const { return test::call(port, "GET", target); }
  static std::string ids(std::uint64_t id, const std::string& consumer) {
    return "msg_id=" + std::to_string(id) + "&consumer=" + consumer;
  }
};

TEST_F(openapi_answers_test, reads_after_a_failed_delivery) {
  // Reading the events turns their recording on (for 15 s), from now on.
  auto first = get("/api/events?cursor=");
  ASSERT_EQ(first.code(), 0) << first.body;
  std::string cursor(first.data().at("next_cursor").as_string());

  endpoint.when_path("/dgfa/", answer::with_status(503));
  // Dispatchers look for a reader about once a second and record outcomes only then: send
  // until an event comes (bounded).
  std::uint64_t id = 0;
  bool recorded = test::wait_until(
      [&] {
        id = post(message("failing"));
        if (!wait_status(id, "dgfa", "failure") || !wait_status(id, "fghyds", "done")) return false;
        auto e = get("/api/events?limit=1000&cursor=" + cursor);
        return e.code() == 0 && !e.data().at("events").as_array().empty();
      },
      20s);
  ASSERT_TRUE(recorded) << "no delivery event recorded";

  // Both failed attempts are kept (a first-try success keeps none).
  auto a = get("/api/message/attempts?" + ids(id, "dgfa"));
  ASSERT_EQ(a.code(), 0) << a.body;
  EXPECT_EQ(a.data().at("attempts"), 2) << a.body;
  EXPECT_EQ(a.data().at("history").as_array().size(), 2u) << a.body;

  auto d = get("/api/message/detail?" + ids(id, "dgfa"));
  ASSERT_EQ(d.code(), 0) << d.body;
  std::size_t with_last = 0;
  auto detail = d.data();  // kept: a range-for over a temporary's member would dangle
  for (const auto& c : detail.at("consumers").as_array())
    with_last += c.at("last_attempt").is_null() ? 0 : 1;
  EXPECT_EQ(with_last, 1u) << d.body;

  // Stats with a dispatcher's figures, once one has reported (every 2 s).
  EXPECT_TRUE(test::wait_until(
      [&] {
        auto s = get("/api/stats");
        return s.code() == 0 && s.data().at("dispatchers").to_number<int>() > 0;
      },
      10s));

  // Refusals, as the document describes them.
  EXPECT_EQ(get("/api/message/attempts?" + ids(id, "nobody")).code(), 102);
  EXPECT_EQ(get("/api/message/attempts?msg_id=0&consumer=dgfa").code(), 102);
  EXPECT_EQ(get("/api/message/attempts?" + ids(id + 1, "dgfa")).code(), 114);
  EXPECT_EQ(get("/api/events?limit=0").code(), 102);
  EXPECT_EQ(get("/api/events?consumer=nobody").code(), 102);
}

}  // namespace
}  // namespace dmq::e2e
