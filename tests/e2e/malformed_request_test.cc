// malformed_request_test: a request that cannot be parsed is answered before the connection
// closes, as nginx does - 400 (request line, header, Content-Length, chunked encoding), 431
// (headers over 16 KB), 505 (not HTTP/1.x) - with the API's envelope (code 128, data null)
// and Connection: close; every answer body is valid UTF-8 JSON, even when it echoes bytes of
// the request; and the server goes on serving everyone else.
#include <boost/json/parse.hpp>

#include "fixture.h"

namespace dmq::e2e {
namespace {

struct malformed_request_test : dmq_test {
  std::string http_yaml() const override { return "  read_timeout_ms: 1000\n"; }

  // refused sends bytes on a new connection and checks the answer: status, the envelope
  // (code 128, a message, data null), Connection: close, then the connection closed.
  // Returns the envelope's message.
  std::string refused(const std::string& bytes, int status) const {
    SCOPED_TRACE(::testing::PrintToString(bytes.substr(0, 60)));
    test::http_client c(port);
    c.send_raw(bytes);
    auto r = c.read_reply(3s);
    if (!r) {
      ADD_FAILURE() << "closed without an answer";
      return {};
    }
    EXPECT_EQ(r->status, status);
    EXPECT_EQ(r->headers["connection"], "close");
    EXPECT_EQ(r->headers["content-type"], "application/json; charset=utf-8");
    auto body = envelope_of(r->body);
    EXPECT_EQ(body.at("code"), 128) << r->body;
    EXPECT_TRUE(body.at("data").is_null()) << r->body;
    EXPECT_TRUE(c.closed(2s)) << "still open after the answer";
    return std::string(body.at("message").as_string());
  }

  // envelope_of parses body as Boost.JSON does by default, which refuses invalid UTF-8;
  // a test failure and an empty envelope if it cannot.
  static json::object envelope_of(const std::string& body) {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object()) {
      ADD_FAILURE() << "not a JSON object (" << ec.message() << "): " << body;
      return {{"code", -1}, {"message", ""}, {"data", -1}};
    }
    return v.get_object();
  }
};

TEST_F(malformed_request_test, a_bad_request_line_is_400) {
  EXPECT_NE(refused("GARBAGE\r\n\r\n", 400), "");
  refused("GET\r\n\r\n", 400);
  refused("GET /healthz\r\n\r\n", 400);            // HTTP/0.9
  refused("GET /heal thz HTTP/1.1\r\n\r\n", 400);  // a space in the target
  refused("GET /healthz HTTP/1.1\n\n", 400);       // bare line feeds
}

TEST_F(malformed_request_test, an_invalid_method_is_400) {
  EXPECT_EQ(refused("G(T /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            "malformed request: bad method");
  refused(" GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400);
}

TEST_F(malformed_request_test, a_bad_header_is_400) {
  EXPECT_EQ(refused("GET /healthz HTTP/1.1\r\nNo colon here\r\n\r\n", 400),
            "malformed request: bad field");
  refused("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: one\x01two\r\n\r\n", 400);
  refused("GET /healthz HTTP/1.1\r\nBad Name: x\r\n\r\n", 400);
  refused("GET /healthz HTTP/1.1\r\n: no name\r\n\r\n", 400);
}

TEST_F(malformed_request_test, a_bad_content_length_is_400) {
  for (const char* length : {"-5", "abc", "1 2", "99999999999999999999999"}) {
    SCOPED_TRACE(length);
    refused("POST /api/message/single HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                std::string(length) + "\r\n\r\n{}",
            400);
  }
  refused("POST /api/message/single HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
          400);
  EXPECT_TRUE(message_keys().empty());
}

TEST_F(malformed_request_test, a_bad_chunked_body_is_400) {
  const std::string head =
      "POST /api/message/single HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(refused(head + "zz\r\n", 400), "malformed request: bad chunk");
  refused(head + "2\r\n{}XX0\r\n\r\n", 400);         // no CRLF after the data
  refused(head + "ffffffffffffffffffff\r\n", 400);   // a size past 64 bits
  refused(head + "2;\x01\r\n{}\r\n0\r\n\r\n", 400);  // a bad chunk extension
  refused("POST /api/message/single HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n{}",
          400);  // chunked must be the last coding of a request
  EXPECT_TRUE(message_keys().empty());
}

TEST_F(malformed_request_test, headers_over_16_kb_are_431) {
  auto why =
      refused("GET /healthz HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n", 431);
  EXPECT_EQ(why, "request header fields too large: the limit is 16384 bytes");
  std::string many = "GET /healthz HTTP/1.1\r\n";
  for (int i = 0; i < 2000; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  refused(many + "\r\n", 431);
  refused("GET /" + std::string(17000, 'p') + " HTTP/1.1\r\n\r\n", 431);  // a long target
}

TEST_F(malformed_request_test, a_version_other_than_http_1_is_505) {
  EXPECT_EQ(refused("GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505),
            "HTTP version 2.0 not supported: use HTTP/1.1");
  refused("GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 505);
  refused("GET /healthz HTTP/0.9\r\nHost: x\r\n\r\n", 505);
}

TEST_F(malformed_request_test, an_http_2_preface_is_505) {
  refused("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505);
}

TEST_F(malformed_request_test, binary_and_tls_bytes_are_400) {
  refused(std::string("\x00\x01\x02\xff\xfe\r\n\r\n", 9), 400);
  refused(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), 400);  // client hello
}

TEST_F(malformed_request_test, a_malformed_request_after_a_good_one_is_answered_in_turn) {
  test::http_client c(port);
  c.send_raw("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nBad\r\n\r\n");
  auto first = c.read_reply(3s), second = c.read_reply(3s);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(second->status, 400);
  EXPECT_EQ(envelope_of(second->body).at("code"), 128);
  EXPECT_TRUE(c.closed(2s));
}

TEST_F(malformed_request_test, the_answer_is_read_even_while_the_client_goes_on_sending) {
  // Closing a socket with unread bytes resets it, which can destroy the answer before the
  // client reads it: the server stops sending, then reads on, before closing.
  refused("GET /healthz HTTP/1.1\r\nBad\r\n\r\n" + std::string(256 * 1024, 'x'), 400);
}

TEST_F(malformed_request_test, the_server_goes_on_serving_other_connections) {
  test::http_client kept(port);
  ASSERT_EQ(kept.request("GET", "/healthz").status, 200);
  for (int i = 0; i < 20; ++i) {
    refused("GARBAGE " + std::to_string(i) + "\r\n\r\n", 400);
    refused("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505);
  }
  EXPECT_EQ(kept.request("POST", "/api/message/single", text(order())).code(), 0);
  EXPECT_EQ(test::call(port, "GET", "/healthz").status, 200);
  EXPECT_EQ(message_keys().size(), 1u);
}

TEST_F(malformed_request_test, a_404_of_a_path_that_is_not_utf8_is_valid_utf8_json) {
  test::http_client c(port);
  c.send_raw("GET /x\xff\xc3(\xed\xa0\x80 HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.read_reply(3s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  auto body = envelope_of(r->body);
  EXPECT_EQ(body.at("code"), 120);
  // Each byte that is not part of a UTF-8 sequence becomes U+FFFD; ASCII is kept.
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(std::string(body.at("message").as_string()),
            "no such path: /x" + fffd + fffd + "(" + fffd + fffd + fffd);
}

TEST_F(malformed_request_test, a_query_parameter_that_is_not_utf8_is_answered_in_valid_utf8) {
  auto r = get("/api/message/status?msg_id=1&consumer=%FFdgfa%C3");
  EXPECT_EQ(r.status, 200);
  auto body = envelope_of(r.body);
  EXPECT_EQ(body.at("code"), 102);
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(std::string(body.at("message").as_string()),
            "consumer: '" + fffd + "dgfa" + fffd + "' is not configured");
  EXPECT_EQ(body.at("data"), body.at("message"));
}

}  // namespace
}  // namespace dmq::e2e
