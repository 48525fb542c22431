// bad_input_test: what producers may get wrong - malformed JSON, wrong types, oversized
// fields and bodies, odd bytes - is refused with a precise answer or stored intact, never
// spliced into key names, and the process stays up (TearDown checks /healthz).
#include "fixture.h"

namespace dmq::e2e {
namespace {

struct bad_input_test : dmq_test {
  std::string extra_yaml() const override {
    return "limits:\n  max_body_bytes: 4096\n  max_field_bytes: 16\n  max_params_bytes: 64\n";
  }

  void refused(const json::object& m, const std::string& why) {
    auto r = post_single(m);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.code(), 102) << r.body;
    EXPECT_EQ(r.data(), json::value(why)) << r.body;
    EXPECT_TRUE(message_keys().empty());
  }

  // keys_of returns the keys one stored sds message may leave, besides dmq:node:*: its
  // record, its queue entries and the find index of its request_id (order()'s).
  static std::set<std::string> keys_of(const std::vector<std::uint64_t>& ids,
                                       const std::string& rid = "rid-1") {
    std::set<std::string> k{queue_key("dgfa"), queue_key("fghyds"), "dmq:{sds}:f:" + rid};
    for (auto id : ids) {
      k.insert(msg_key(id));
      k.insert(status_key(id));
    }
    return k;
  }
  std::set<std::string> keys_but_nodes() const {
    std::set<std::string> out;
    for (const auto& k : all_keys())
      if (k.rfind("dmq:node:", 0) != 0 && k != "dmq:queues" && k != "dmq:ordered" &&
          k != "dmq:queues:complete")  // global keys (docs/storage.md)
        out.insert(k);
    return out;
  }
};

TEST_F(bad_input_test, malformed_json_is_101) {
  const std::string bodies[] = {"{",
                                R"({"project":"sds",})",
                                R"({"project":"sds","cmd":"sds:cr)",  // truncated
                                R"({"project":"sds"}})",
                                R"({project:"sds"})",
                                R"({'project':'sds'})",
                                "nul",
                                "[1,2",
                                R"({"a":1} {"b":2})",
                                "\xef\xbb\xbf{}",  // a byte order mark
                                std::string("{\"a\":\0}", 7),
                                "{\"a\":\"tab\there\"}"};
  for (const auto& body : bodies) {
    SCOPED_TRACE(body);
    auto r = post_single(body);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.code(), 101) << r.body;
    EXPECT_TRUE(r.data().is_null()) << r.body;
  }
  EXPECT_TRUE(message_keys().empty());
  EXPECT_TRUE(healthy());
}

TEST_F(bad_input_test, a_body_that_is_not_an_object_is_refused) {
  for (const char* body : {"[]", "\"sds\"", "42", "null", "true"}) {
    SCOPED_TRACE(body);
    auto r = post_single(body);
    EXPECT_EQ(r.code(), 102) << r.body;
    EXPECT_EQ(r.data(), "message: must be a JSON object");
  }
}

TEST_F(bad_input_test, wrong_types_are_refused_naming_the_field) {
  auto with = [](const char* field, json::value v) {
    auto m = order();
    m[field] = std::move(v);
    return m;
  };
  refused(with("project", 1), "project: must be a string");
  refused(with("cmd", json::array{"sds:create:order"}), "cmd: must be a string");
  refused(with("bucket", true), "bucket: must be a string");
  refused(with("params", json::object{{"order_id", 1}}), "params: must be a string");
  refused(with("request_id", 7), "request_id: must be a string");
  refused(with("timestamp", "1700000000"), "timestamp: must be an integer");
  refused(with("timestamp", 1700000000.5), "timestamp: must be an integer");
  refused(with("timestamp", 1e300), "timestamp: must be an integer");
  refused(with("timestamp", -1), "timestamp: must not be negative");
  refused(with("timestamp", true), "timestamp: must be an integer");
  refused(with("timestamp", std::uint64_t{18446744073709551615u}), "timestamp: is too large");
  refused(with("delay_ms", -1000), "delay_ms: must not be negative");
  refused(with("delay_ms", "100"), "delay_ms: must be an integer");
}

TEST_F(bad_input_test, a_timestamp_in_milliseconds_is_refused) {
  auto m = order();
  m["timestamp"] = now_ms();
  refused(m, "timestamp: must be in seconds (for milliseconds use delay_ms)");
}

TEST_F(bad_input_test, timestamp_and_delay_ms_together_are_refused) {
  auto m = order();
  m["timestamp"] = now_s() + 60;
  m["delay_ms"] = 1000;
  refused(m, "delay_ms: give timestamp or delay_ms, not both");
}

TEST_F(bad_input_test, a_delay_beyond_the_id_range_is_refused) {
  auto m = order();
  m["delay_ms"] = std::int64_t{1} << 62;
  refused(m, "delay_ms: is too large");
}

TEST_F(bad_input_test, a_whole_float_timestamp_is_accepted_as_seconds) {
  auto due = now_s() + 60;
  auto m = order();
  m["timestamp"] = static_cast<double>(due);
  auto id = saved(m);
  EXPECT_EQ(hget(msg_key(id), "due"), std::to_string(due * 1000));
}

TEST_F(bad_input_test, fields_over_their_limit_are_refused_naming_the_field) {
  std::string seventeen(17, 'x');
  for (const char* field : {"project", "cmd", "bucket", "request_id"}) {
    SCOPED_TRACE(field);
    auto m = order();
    m[field] = seventeen;
    refused(m, std::string(field) + ": is 17 bytes, the limit is 16");
  }
  auto m = order();
  m["params"] = std::string(65, 'p');
  refused(m, "params: is 65 bytes, the limit is 64");
}

TEST_F(bad_input_test, fields_at_their_limit_are_accepted) {
  auto m = order(std::string(16, 'b'));
  m["request_id"] = std::string(16, 'r');
  m["params"] = std::string(64, 'p');
  auto id = saved(m);
  EXPECT_EQ(hget(msg_key(id), "bucket"), std::string(16, 'b'));
  EXPECT_EQ(hget(msg_key(id), "params"), std::string(64, 'p'));
}

TEST_F(bad_input_test, a_body_over_max_body_bytes_is_413_and_the_process_stays_up) {
  auto m = order();
  m["params"] = std::string(5000, 'p');
  auto r = post_single(m);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.code(), 122) << r.body;
  EXPECT_EQ(r.data(), "body: larger than the limit of 4096 bytes");
  EXPECT_EQ(r.headers["connection"], "close");
  // A batch too, and one far larger than the limit, sent whole.
  json::array a;
  for (int i = 0; i < 2000; ++i) a.push_back(order());
  auto big = post_batch(a);
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.code(), 122) << big.body;
  EXPECT_TRUE(message_keys().empty());
  EXPECT_TRUE(healthy());
}

TEST_F(bad_input_test, a_chunked_body_over_max_body_bytes_is_413) {
  test::http_client c(port);
  std::string req =
      "POST /api/message/single HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i) req += "3e8\r\n" + std::string(1000, ' ') + "\r\n";  // 5 x 1000
  c.send_raw(req + "0\r\n\r\n");
  auto r = c.read_reply();
  ASSERT_TRUE(r) << "no answer";
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->code(), 122) << r->body;
  EXPECT_TRUE(healthy());
}

TEST_F(bad_input_test, chunked_trailers_count_against_the_body_limit) {
  // Beast keeps a chunked body's trailer lines and bounds them by no limit: the bytes of a
  // body on the wire are bounded instead, at twice max_body_bytes plus 16 KB.
  test::http_client c(port);
  std::string req =
      "POST /api/message/single HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "2\r\n{}\r\n0\r\n";
  for (int i = 0; i < 4000; ++i) req += "X-Trailer-" + std::to_string(i) + ": v\r\n";  // 76 KB
  c.send_raw(req + "\r\n");
  auto r = c.read_reply();
  ASSERT_TRUE(r) << "no answer";
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->code(), 122) << r->body;
  EXPECT_TRUE(healthy());
}

TEST_F(bad_input_test, expect_100_continue_is_answered_then_the_body_read) {
  test::http_client c(port);
  auto body = text(order("continued"));
  c.send_raw(
      "POST /api/message/single HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body);
  auto r = c.read_reply();  // skips the 100 Continue
  ASSERT_TRUE(r);
  ASSERT_EQ(r->code(), 0) << r->body;
  EXPECT_EQ(hget(msg_key(id_of(*r)), "bucket"), "continued");
}

TEST_F(bad_input_test, a_body_of_exactly_max_body_bytes_is_read) {
  auto body = text(order());
  body.append(4096 - body.size(), ' ');  // JSON allows trailing white space
  ASSERT_EQ(body.size(), 4096u);
  auto r = post_single(body);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.code(), 0) << r.body;
}

TEST_F(bad_input_test, unicode_is_stored_and_answered_intact) {
  const std::string bucket = "订单-9";                              // 10 bytes
  const std::string params = R"({"名字":"张三 😀","e":"é\u00e9"})";  // escape kept as sent
  const std::string rid = "ré-🙂";
  auto m = order(bucket);
  m["params"] = params;
  m["request_id"] = rid;
  auto id = saved(m);
  EXPECT_EQ(hget(msg_key(id), "bucket"), bucket);
  EXPECT_EQ(hget(msg_key(id), "params"), params);
  EXPECT_EQ(hget(msg_key(id), "rid"), rid);
  auto d = detail(id, "dgfa").data();
  EXPECT_EQ(d.at("bucket"), json::value(bucket));
  EXPECT_EQ(d.at("params"), json::value(params));
  EXPECT_EQ(d.at("request_id"), json::value(rid));
  // JSON escapes in the request are decoded once, like any JSON string.
  auto r = post_single(R"({"project":"sds","cmd":"sds:create:order","bucket":"\u8ba2\u5355"})");
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(hget(msg_key(id_of(r)), "bucket"), "订单");
}

TEST_F(bad_input_test, invalid_utf8_is_101) {
  const std::string bodies[] = {
      "{\"project\":\"sds\",\"cmd\":\"sds:create:order\",\"bucket\":\"\xff\xfe\"}",
      "{\"project\":\"sds\",\"cmd\":\"sds:create:order\",\"bucket\":\"\xc3\"}",      // cut short
      "{\"project\":\"sds\",\"cmd\":\"sds:create:order\",\"bucket\":\"\xc0\xaf\"}",  // overlong
      "{\"project\":\"sds\",\"cmd\":\"sds:create:order\",\"bucket\":\"\xed\xa0\x80\"}",  // surrogate
  };
  for (const auto& body : bodies) {
    auto r = post_single(body);
    EXPECT_EQ(r.code(), 101) << r.body;
    EXPECT_TRUE(r.data().is_null());
  }
  EXPECT_TRUE(message_keys().empty());
}

TEST_F(bad_input_test, a_lone_surrogate_escape_is_refused) {
  auto r = post_single(R"({"project":"sds","cmd":"sds:create:order","bucket":"\ud800"})");
  EXPECT_EQ(r.code(), 101) << r.body;
  EXPECT_TRUE(message_keys().empty());
}

TEST_F(bad_input_test, key_syntax_in_fields_is_stored_as_values_only) {
  const std::string bucket = "a:{b}*\n c";  // 10 bytes
  const std::string rid = "}:m:1 *\r\n{";
  const std::string params = "{\"k\":\"dmq:{sds}:m:*\"}\n :{}* \t";
  auto m = order(bucket);
  m["request_id"] = rid;
  m["params"] = params;
  auto id = saved(m);
  EXPECT_EQ(hget(msg_key(id), "bucket"), bucket);
  EXPECT_EQ(hget(msg_key(id), "rid"), rid);
  EXPECT_EQ(hget(msg_key(id), "params"), params);
  auto d = detail(id, "dgfa").data();
  EXPECT_EQ(d.at("bucket"), json::value(bucket));
  EXPECT_EQ(d.at("request_id"), json::value(rid));
  EXPECT_EQ(d.at("params"), json::value(params));
  // The request_id ends one key, the project's find index, after the project's hash tag
  // (Redis hashes the first {...}, so it stays in the project's slot), and is found there.
  EXPECT_EQ(keys_but_nodes(), keys_of({id}, rid));
  auto found = test::call(port, "GET",
                          "/api/message/find?project=sds&request_id=%7D%3Am%3A1%20%2A%0D%0A%7B");
  EXPECT_EQ(found.data().at("ids"), (json::array{json::string(std::to_string(id))})) << found.body;
}

TEST_F(bad_input_test, key_syntax_in_project_and_cmd_is_refused_before_any_key_is_built) {
  auto m = order();
  m["project"] = "sds}:x";
  auto r = post_single(m);
  EXPECT_EQ(r.code(), 103) << r.body;
  m = order();
  m["cmd"] = "sds:*";
  r = post_single(m);
  EXPECT_EQ(r.code(), 104) << r.body;
  EXPECT_TRUE(keys_but_nodes().empty());
}

TEST_F(bad_input_test, a_consumer_with_key_syntax_is_refused_in_queries) {
  auto id = saved(order());
  for (const char* c : {"dgfa%0A", "dgfa*", "%7Bsds%7D", "dgfa%20"}) {
    SCOPED_TRACE(c);
    auto r = get("/api/message/status?msg_id=" + std::to_string(id) + "&consumer=" + c);
    EXPECT_EQ(r.code(), 102) << r.body;
  }
  EXPECT_EQ(keys_but_nodes(), keys_of({id}));
}

TEST_F(bad_input_test, unknown_fields_are_ignored) {
  auto m = order();
  m["priority"] = 9;
  m["id"] = 1;
  auto id = saved(m);
  EXPECT_NE(id, 1u);
  EXPECT_EQ(hget(msg_key(id), "priority"), "<nil>");
}

}  // namespace
}  // namespace dmq::e2e
