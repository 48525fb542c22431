// http_test: the HTTP layer - routes, methods, keep-alive and slow clients
// (http.read_timeout_ms is 300 ms here). The process must outlive all of it. Malformed
// requests: malformed_request_test.
#include "fixture.h"

namespace dmq::e2e {
namespace {

struct http_test : dmq_test {
  std::string http_yaml() const override { return "  read_timeout_ms: 300\n"; }
};

// timed_closed says how long the server took to close c, or nullopt if it did not in bound.
std::optional<std::chrono::milliseconds> time_to_close(test::http_client& c,
                                                       std::chrono::milliseconds bound) {
  auto t0 = std::chrono::steady_clock::now();
  if (!c.closed(bound)) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               t0);
}

TEST_F(http_test, healthz_answers_200_with_the_id_node) {
  auto r = healthz();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.code(), 0);
  EXPECT_EQ(r.data().at("redis"), "up");
  EXPECT_GE(r.data().at("id_node").to_number<int>(), 0);
  EXPECT_EQ(r.headers["content-type"], "application/json; charset=utf-8");
}

TEST_F(http_test, an_unknown_path_is_404_code_120) {
  for (const char* path :
       {"/", "/nope", "/api/message", "/api/message/single/x", "/API/MESSAGE/SINGLE"}) {
    SCOPED_TRACE(path);
    auto r = get(path);
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.code(), 120) << r.body;
    EXPECT_EQ(r.data(), json::value("no such path: " + std::string(path)));
  }
}

TEST_F(http_test, a_query_does_not_change_the_route) {
  auto r = test::call(port, "POST", "/api/message/single?x=1", text(order()));
  EXPECT_EQ(r.code(), 0) << r.body;
}

TEST_F(http_test, a_wrong_method_is_405_code_121) {
  const std::pair<const char*, const char*> cases[] = {{"GET", "/api/message/single"},
                                                       {"PUT", "/api/message/batch"},
                                                       {"POST", "/api/message/status"},
                                                       {"DELETE", "/api/message/detail"},
                                                       {"POST", "/api/message/pending"},
                                                       {"GET", "/api/message/solved"},
                                                       {"POST", "/healthz"}};
  for (const auto& [method, path] : cases) {
    SCOPED_TRACE(std::string(method) + " " + path);
    auto r = test::call(port, method, path);
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(r.code(), 121) << r.body;
  }
  EXPECT_EQ(test::call(port, "GET", "/api/message/single").data(), "/api/message/single: use POST");
  EXPECT_TRUE(message_keys().empty());
}

TEST_F(http_test, keep_alive_serves_many_requests_on_one_connection) {
  test::http_client c(port);
  std::uint64_t id = 0;
  for (int i = 0; i < 5; ++i) {
    auto r = c.request("POST", "/api/message/single", text(order()));
    ASSERT_EQ(r.code(), 0) << r.body;
    EXPECT_NE(r.headers["connection"], "close");
    id = id_of(r);
  }
  EXPECT_EQ(c.request("GET", "/api/message/status?msg_id=" + std::to_string(id) + "&consumer=dgfa")
                .data(),
            "waiting");
  EXPECT_EQ(c.request("GET", "/nope").status, 404);
  EXPECT_EQ(c.request("GET", "/api/message/single").status, 405);
  EXPECT_EQ(c.request("POST", "/api/message/single", "{").code(), 101);
  EXPECT_EQ(c.request("GET", "/healthz").status, 200);  // refusals keep the connection too
  EXPECT_FALSE(c.closed(50ms));
  EXPECT_EQ(message_keys().size(), 5u);
}

TEST_F(http_test, pipelined_requests_are_answered_in_order) {
  test::http_client c(port);
  std::string one = text(order("p1")), two = text(order("p2"));
  auto req = [](const std::string& body) {
    return "POST /api/message/single HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           "Content-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  c.send_raw(req(one) + req(two) + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  auto a = c.read_reply(), b = c.read_reply(), h = c.read_reply();
  ASSERT_TRUE(a && b && h);
  EXPECT_EQ(hget(msg_key(id_of(*a)), "bucket"), "p1");
  EXPECT_EQ(hget(msg_key(id_of(*b)), "bucket"), "p2");
  EXPECT_EQ(h->status, 200);
}

TEST_F(http_test, http_1_0_without_keep_alive_is_closed_after_the_answer) {
  test::http_client c(port);
  c.send_raw("GET /healthz HTTP/1.0\r\n\r\n");
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(c.closed(2s));
}

TEST_F(http_test, connection_close_is_honoured) {
  test::http_client c(port);
  auto r = c.request("GET", "/healthz", "", {{"Connection", "close"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["connection"], "close");
  EXPECT_TRUE(c.closed(2s));
}

TEST_F(http_test, a_chunked_body_is_read) {
  test::http_client c(port);
  auto body = text(order("chunked"));
  auto half = body.size() / 2;
  auto hex = [](std::size_t n) {
    char b[32];
    std::snprintf(b, sizeof b, "%zx", n);
    return std::string(b);
  };
  c.send_raw("POST /api/message/single HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
             hex(half) + "\r\n" + body.substr(0, half) + "\r\n" + hex(body.size() - half) + "\r\n" +
             body.substr(half) + "\r\n0\r\n\r\n");
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->code(), 0) << r->body;
  EXPECT_EQ(hget(msg_key(id_of(*r)), "bucket"), "chunked");
}

TEST_F(http_test, a_client_that_stalls_mid_body_is_disconnected_after_read_timeout) {
  test::http_client c(port);
  c.send_raw("POST /api/message/single HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"proj");
  auto t = time_to_close(c, 5s);
  ASSERT_TRUE(t) << "still open after 5 s";
  EXPECT_GE(*t, 200ms);
  EXPECT_LT(*t, 2s);
  EXPECT_TRUE(message_keys().empty());
}

TEST_F(http_test, a_client_that_stalls_mid_headers_is_disconnected_after_read_timeout) {
  test::http_client c(port);
  c.send_raw("POST /api/message/single HTTP/1.1\r\nHost: x\r\nContent-Le");
  auto t = time_to_close(c, 5s);
  ASSERT_TRUE(t) << "a half-sent header holds the connection open (idle_timeout_ms, 60 s, "
                    "applies instead of read_timeout_ms)";
  EXPECT_LT(*t, 2s);
}

TEST_F(http_test, a_client_that_trickles_its_body_is_disconnected_after_read_timeout) {
  test::http_client c(port);
  c.send_raw("POST /api/message/single HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n");
  auto t0 = std::chrono::steady_clock::now();
  bool closed = false;
  // One byte every 100 ms never completes the body: the whole request is bounded, not each read.
  for (int i = 0; i < 40 && !closed; ++i) {
    c.send_raw("x");
    closed = c.closed(100ms);
  }
  ASSERT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST_F(http_test, many_connections_at_once_are_all_served) {
  std::vector<std::unique_ptr<test::http_client>> cs;
  for (int i = 0; i < 100; ++i) cs.push_back(std::make_unique<test::http_client>(port));
  for (auto& c : cs) EXPECT_EQ(c->request("GET", "/healthz").status, 200);
}

}  // namespace
}  // namespace dmq::e2e
