// idempotent_publish_test: idempotency keys through the real API and dispatcher (issue 13,
// section 4): 50 identical requests at once make one message and one delivery per
// consumer; duplicates within a batch and across batches answer the first id; the header
// and the body's field; a project whose window is 0, and one keyed by request_id.
#include <future>
#include <thread>

#include "delivery_fixture.h"

namespace dmq::e2e {
namespace {

// message_count counts the records of project sds in Redis.
std::size_t message_count(const test::redis_server& redis) {
  return redis.cmd({"KEYS", "dmq:{sds}:m:*"}).elements.size();
}

struct idempotent_publish : delivery_test {
  std::size_t message_count() const { return e2e::message_count(redis); }
  static json::object keyed(const std::string& key, const std::string& params = "{}") {
    auto m = message(params);
    m["idempotency_key"] = key;
    return m;
  }
  // delivered_once waits until the consumers got sentinel (posted after everything else,
  // due at once) and then counts what they got of id: each consumer must have it once.
  void expect_delivered_once(std::uint64_t id) {
    auto sentinel = post(message(R"({"sentinel":1})"));
    ASSERT_NE(sentinel, 0u);
    ASSERT_TRUE(endpoint.wait_for_count(4, 20s)) << describe(endpoint.requests());
    EXPECT_TRUE(wait_status(sentinel, "dgfa", "done"));
    EXPECT_TRUE(wait_status(sentinel, "fghyds", "done"));
    EXPECT_EQ(endpoint.for_id(id, "/dgfa").size(), 1u) << describe(endpoint.requests());
    EXPECT_EQ(endpoint.for_id(id, "/fghyds").size(), 1u) << describe(endpoint.requests());
  }
};

TEST_F(idempotent_publish, fifty_identical_requests_at_once_make_one_message) {
  auto body = text(message(R"({"order_id":77})"));
  std::vector<std::future<test::http_reply>> replies;
  for (int i = 0; i < 50; ++i)
    replies.push_back(std::async(std::launch::async, [&] {
      return test::call(port, "POST", "/api/message/single", body,
                        {{"Idempotency-Key", "cancel-order-77"}});
    }));
  std::set<std::uint64_t> ids;
  for (auto& f : replies) {
    auto r = f.get();
    ASSERT_EQ(r.code(), 0) << r.body;
    ids.insert(id_of(r));
  }
  ASSERT_EQ(ids.size(), 1u) << "every answer names the one message stored";
  auto metrics = test::call(port, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("dmq_messages_deduplicated_total{project=\"sds\"} 49\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("dmq_messages_saved_total{project=\"sds\"} 1\n"), std::string::npos);
  expect_delivered_once(*ids.begin());
  EXPECT_EQ(message_count(), 2u) << "the message and the sentinel";
}

TEST_F(idempotent_publish, duplicates_in_a_batch_and_across_batches_answer_the_first_id) {
  json::array b1{keyed("a"), keyed("b"), keyed("a"), message()};
  auto r1 = test::call(port, "POST", "/api/message/batch", text(b1));
  ASSERT_EQ(r1.code(), 0) << r1.body;
  auto d1 = r1.data().as_array();
  EXPECT_EQ(d1[0], d1[2]) << r1.body;
  EXPECT_NE(d1[0], d1[1]);
  json::array b2{keyed("b"), keyed("c")};
  auto r2 = test::call(port, "POST", "/api/message/batch", text(b2));
  ASSERT_EQ(r2.code(), 0) << r2.body;
  auto d2 = r2.data().as_array();
  EXPECT_EQ(d2[0], d1[1]) << "across batches too";
  auto single = post(keyed("c"));
  EXPECT_EQ(single, static_cast<std::uint64_t>(d2[1].as_int64()));
  EXPECT_EQ(message_count(), 4u) << "a, b, the unkeyed one and c";
}

TEST_F(idempotent_publish, the_header_and_the_field_must_agree) {
  auto r =
      test::call(port, "POST", "/api/message/single", text(keyed("x")), {{"Idempotency-Key", "y"}});
  EXPECT_EQ(r.code(), 102) << r.body;
  EXPECT_EQ(r.data(), "idempotency_key: differs from the Idempotency-Key header");
  auto same =
      test::call(port, "POST", "/api/message/single", text(keyed("x")), {{"Idempotency-Key", "x"}});
  EXPECT_EQ(same.code(), 0) << same.body;
  auto bad = test::call(port, "POST", "/api/message/single",
                        text(json::object{{"project", "sds"},
                                          {"cmd", "sds:create:order"},
                                          {"bucket", "b"},
                                          {"idempotency_key", 7}}));
  EXPECT_EQ(bad.code(), 102);
  EXPECT_EQ(bad.data(), "idempotency_key: must be a string");
  EXPECT_EQ(message_count(), 1u);
}

TEST_F(idempotent_publish, without_a_key_request_id_is_a_trace_id_as_in_the_seed) {
  auto m = message();
  m["request_id"] = "trace-1";
  auto a = post(m), b = post(m);
  EXPECT_NE(a, b);
  EXPECT_EQ(message_count(), 2u);
}

struct idempotency_settings : delivery_test {
  void configure() override { start_run = false; }
  void start_with(const std::string& product) {
    dirs.push_back(write_delivery_config(redis.port(), port, endpoint.port(), {dgfa, fghyds}));
    auto yaml_path = dirs.back() + "/config.yaml";
    std::ifstream in(yaml_path);
    std::stringstream ss;
    ss << in.rdbuf();
    auto yaml = ss.str();
    ASSERT_TRUE(
        replace_once(yaml, "    allow_ip: [127.0.0.1]\n", "    allow_ip: [127.0.0.1]\n" + product));
    std::ofstream(yaml_path) << yaml;
    dmq = start_dmq(dirs.back(), port, "run");
  }
};

TEST_F(idempotency_settings, a_window_of_0_turns_keys_off) {
  start_with("    idempotency_window: 0\n");
  auto m = message();
  m["idempotency_key"] = "k";
  EXPECT_NE(post(m), post(m));
}

TEST_F(idempotency_settings, a_project_may_key_by_request_id) {
  start_with("    idempotency_from_request_id: true\n");
  auto m = message();
  m["request_id"] = "req-5";
  auto a = post(m);
  EXPECT_EQ(post(m), a);
  m["request_id"] = "req-6";
  EXPECT_NE(post(m), a);
}

}  // namespace
}  // namespace dmq::e2e
