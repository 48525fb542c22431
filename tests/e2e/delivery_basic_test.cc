// delivery_basic_test: `dmq run` delivers a message to every consumer of its command, on
// time, as the POST the seed made (target, headers, body), and records it done.
#include "delivery_fixture.h"

namespace dmq::e2e {
namespace {

// No idle re-check within any test's time (dispatch.max_idle_ms, 5 s by default): what
// arrives arrived because the save woke the dispatcher, or its timer for the due time fired.
struct delivery_basic_test : delivery_test {
  void configure() override { extra = "dispatch:\n  max_idle_ms: 600000\n"; }
};

TEST_F(delivery_basic_test, a_message_due_now_reaches_both_consumers_and_is_done) {
  auto before = now_ms();
  auto id = post(message());
  ASSERT_TRUE(endpoint.wait_for_distinct("/dgfa/", 1, 3s)) << describe(endpoint.requests());
  ASSERT_TRUE(endpoint.wait_for_distinct("/fghyds/", 1, 3s)) << describe(endpoint.requests());
  EXPECT_TRUE(wait_status(id, "dgfa", "done")) << status(id, "dgfa");
  EXPECT_TRUE(wait_status(id, "fghyds", "done")) << status(id, "fghyds");

  for (const char* path : {"/dgfa/", "/fghyds/"}) {
    auto rs = endpoint.for_id(id, path);
    ASSERT_EQ(rs.size(), 1u) << path << "\n" << describe(endpoint.requests());
    EXPECT_EQ(rs[0].retry, 0);
    EXPECT_LT(rs[0].arrived_ms - before, 1000) << "a message due now is delivered at once";
  }
  EXPECT_EQ(endpoint.count(), 2u);
  EXPECT_EQ(redis.cmd({"ZCARD", "dmq:{sds}:q:dgfa"}).integer, 0);
  EXPECT_EQ(redis.cmd({"ZCARD", "dmq:{sds}:q:fghyds"}).integer, 0);
}

TEST_F(delivery_basic_test, a_message_delayed_300_ms_arrives_on_time_and_not_before) {
  auto before = now_ms();
  auto id = post(message(R"({"order_id":2})", 300));
  ASSERT_TRUE(endpoint.wait_for_count(2, 3s)) << describe(endpoint.requests());
  for (const char* path : {"/dgfa/", "/fghyds/"}) {
    auto rs = endpoint.for_id(id, path);
    ASSERT_EQ(rs.size(), 1u) << path;
    auto due = std::stoll(rs[0].header("X-Dmq-Scheduled-At"));
    EXPECT_GE(due, before + 300);
    EXPECT_GE(rs[0].arrived_ms, due) << path << ": delivered before it was due";
    EXPECT_LE(rs[0].arrived_ms - due, late_slack_ms) << path << ": delivered late";
  }
  EXPECT_TRUE(wait_status(id, "dgfa", "done"));
  EXPECT_TRUE(wait_status(id, "fghyds", "done"));
}

struct delivery_request_test : delivery_test {
  void configure() override { fghyds.path = "/fghyds/createorder?src=dmq&v=1"; }
};

TEST_F(delivery_request_test, target_headers_and_body_are_exactly_as_specified) {
  // params with multi-byte UTF-8, escapes and spaces: the body must be these bytes.
  std::string params = "{\"order_id\":7, \"note\":\"h\xC3\xA9llo \\\"q\\\" \xE4\xB8\xAD\"}";
  auto m = message(params);
  m["request_id"] = "rid-42";
  auto before = now_ms();
  auto id = post(m);
  ASSERT_TRUE(endpoint.wait_for_count(2, 3s)) << describe(endpoint.requests());
  auto sid = std::to_string(id);

  auto d = endpoint.for_id(id, "/dgfa/");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].method, "POST");
  EXPECT_EQ(d[0].target, "/dgfa/createorder?msg_id=" + sid + "&retry=0");
  auto f = endpoint.for_id(id, "/fghyds/");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].target, "/fghyds/createorder?src=dmq&v=1&msg_id=" + sid + "&retry=0")
      << "a path with a query gets & rather than ?";

  for (const auto& r : {d[0], f[0]}) {
    EXPECT_EQ(r.body, params) << r.path;
    EXPECT_EQ(r.header("content-length"), std::to_string(params.size()));
    EXPECT_EQ(r.header("Content-Type"), "application/json; charset=utf-8");
    EXPECT_EQ(r.header("User-Agent"), "dmq");
    EXPECT_EQ(r.header("X-Request-Id"), "rid-42");
    EXPECT_EQ(r.header("X-Dmq-Message-Id"), sid);
    EXPECT_EQ(r.header("X-Dmq-Attempt"), "1");
    auto due = std::stoll(r.header("X-Dmq-Scheduled-At"));
    EXPECT_GE(due, before);
    EXPECT_LE(due, r.arrived_ms);
    EXPECT_EQ(r.header("Host").rfind("127.0.0.1", 0), 0u) << r.header("Host");
  }
}

TEST_F(delivery_request_test, no_x_request_id_header_without_a_request_id) {
  auto id = post(message());
  ASSERT_TRUE(endpoint.wait_for_count(2, 3s));
  for (const auto& r : endpoint.for_id(id)) {
    EXPECT_EQ(r.headers.count("x-request-id"), 0u) << r.path;
    EXPECT_EQ(r.body, R"({"order_id":1})");
  }
}

TEST_F(delivery_request_test, a_request_id_with_line_breaks_cannot_add_a_header) {
  auto m = message();
  m["request_id"] = "rid\r\nX-Injected: 1\r\n\r\nbody";
  auto id = post(m);
  ASSERT_TRUE(endpoint.wait_for_count(2, 3s)) << describe(endpoint.requests());
  for (const auto& r : endpoint.for_id(id)) {
    EXPECT_EQ(r.headers.count("x-injected"), 0u) << r.path;
    EXPECT_EQ(r.header("X-Request-Id"), "rid  X-Injected: 1    body") << r.path;
    EXPECT_EQ(r.body, R"({"order_id":1})") << r.path;
  }
}

}  // namespace
}  // namespace dmq::e2e
