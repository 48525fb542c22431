// pending_test: GET /api/message/pending and POST /api/message/solved. The dispatcher that
// fails deliveries does not exist yet, so the tests fail them by hand in Redis, as it will:
// status "failure" and the id in dmq:{p}:pending:<consumer> scored by its timestamp (s).
#include "fixture.h"

namespace dmq::e2e {
namespace {

struct pending_test : dmq_test {
  std::string extra_yaml() const override { return "limits:\n  max_solved_ids: 5\n"; }

  // failed saves a message due at ts (seconds) and fails its delivery to consumer.
  std::uint64_t failed(std::int64_t ts, const std::string& consumer = "dgfa") {
    auto m = order();
    m["timestamp"] = ts;
    auto id = saved(m);
    auto sid = std::to_string(id);
    EXPECT_EQ(redis.cmd({"ZADD", pending_key(consumer), std::to_string(ts), sid}).integer, 1);
    set_status(id, consumer, "failure");
    redis.cmd({"ZREM", queue_key(consumer), sid});
    return id;
  }

  http_reply pending(const std::string& query) const {
    return get("/api/message/pending?" + query);
  }
  http_reply solved(const std::string& body) const {
    return test::call(port, "POST", "/api/message/solved", body);
  }
  http_reply solved(const std::string& consumer, const json::array& ids) const {
    return solved(text(json::object{{"consumer", consumer}, {"msg_ids", ids}}));
  }

  static json::object entry(std::int64_t ts, std::uint64_t id) {
    return {{"Score", ts}, {"Member", std::to_string(id)}};
  }
};

TEST_F(pending_test, an_empty_pending_list) {
  auto r = pending("consumer=dgfa");
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(r.data(), (json::object{{"count", 0}, {"list", json::array{}}}));
}

TEST_F(pending_test, the_list_has_the_seeds_shape_in_timestamp_order) {
  auto t = now_s() + 1000;
  auto b = failed(t + 20);
  auto a = failed(t + 10);
  auto c = failed(t + 30);
  auto r = pending("consumer=dgfa");
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(
      r.data(),
      (json::object{{"count", 3},
                    {"list", json::array{entry(t + 10, a), entry(t + 20, b), entry(t + 30, c)}}}));
  // Other consumers' lists are their own.
  EXPECT_EQ(pending("consumer=fghyds").data().at("count"), 0);
}

TEST_F(pending_test, start_and_end_select_by_timestamp_but_count_is_the_whole_list) {
  auto t = now_s() + 1000;
  auto a = failed(t + 10);
  auto b = failed(t + 20);
  auto c = failed(t + 30);
  auto q = [&](std::int64_t s, std::int64_t e) {
    return "consumer=dgfa&start=" + std::to_string(s) + "&end=" + std::to_string(e);
  };
  auto r = pending(q(t + 20, t + 20));
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(r.data(), (json::object{{"count", 3}, {"list", json::array{entry(t + 20, b)}}}));
  EXPECT_EQ(pending(q(t + 15, t + 40)).data().at("list"),
            (json::array{entry(t + 20, b), entry(t + 30, c)}));
  EXPECT_EQ(pending(q(0, t + 10)).data().at("list"), (json::array{entry(t + 10, a)}));
  EXPECT_EQ(pending(q(t + 31, t + 99)).data().at("list"), json::array{});
  EXPECT_EQ(pending("consumer=dgfa&start=" + std::to_string(t + 25)).data().at("list"),
            (json::array{entry(t + 30, c)}));
  EXPECT_EQ(pending("consumer=dgfa&end=" + std::to_string(t + 15)).data().at("list"),
            (json::array{entry(t + 10, a)}));
  EXPECT_EQ(pending("consumer=dgfa&limit=2").data().at("list"),
            (json::array{entry(t + 10, a), entry(t + 20, b)}));
}

TEST_F(pending_test, pending_refuses_bad_queries) {
  EXPECT_EQ(pending("consumer=nobody").data(), "consumer: 'nobody' is not configured");
  EXPECT_EQ(pending("consumer=").code(), 102);
  EXPECT_EQ(pending("start=1").data(), "consumer: is required");
  EXPECT_EQ(pending("consumer=dgfa&start=x").data(), "start: must be an integer (unix seconds)");
  EXPECT_EQ(pending("consumer=dgfa&end=1.5").data(), "end: must be an integer (unix seconds)");
  EXPECT_EQ(pending("consumer=dgfa&limit=0").code(), 102);
  EXPECT_EQ(pending("consumer=dgfa&limit=10001").code(), 102);
}

TEST_F(pending_test, solved_marks_failed_ids_done_and_removes_them_from_the_list) {
  auto t = now_s() + 1000;
  auto a = failed(t + 10);
  auto b = failed(t + 20);
  auto c = failed(t + 30);
  // Ids as numbers and as strings, as producers send both.
  auto r = solved("dgfa", json::array{a, std::to_string(b)});
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(r.data(), (json::object{{std::to_string(a), true}, {std::to_string(b), true}}));
  EXPECT_EQ(status(a, "dgfa").data(), "done");
  EXPECT_EQ(status(b, "dgfa").data(), "done");
  EXPECT_EQ(status(c, "dgfa").data(), "failure");
  EXPECT_EQ(status(a, "fghyds").data(), "waiting");  // the other consumer is untouched
  EXPECT_EQ(pending("consumer=dgfa").data(),
            (json::object{{"count", 1}, {"list", json::array{entry(t + 30, c)}}}));
}

TEST_F(pending_test, solved_answers_false_for_an_id_that_had_not_failed) {
  auto t = now_s() + 1000;
  auto failed_id = failed(t);
  auto waiting_id = saved(order());
  auto r = solved("dgfa", json::array{waiting_id, failed_id, waiting_id + 1});
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(r.data(), (json::object{{std::to_string(waiting_id), false},
                                    {std::to_string(failed_id), true},
                                    {std::to_string(waiting_id + 1), false}}));
  EXPECT_EQ(status(waiting_id, "dgfa").data(), "waiting");
  EXPECT_EQ(redis.cmd({"EXISTS", status_key(waiting_id + 1)}).integer, 0);
  // Solving again is harmless and answers false.
  EXPECT_EQ(solved("dgfa", json::array{failed_id}).data(),
            (json::object{{std::to_string(failed_id), false}}));
  EXPECT_EQ(status(failed_id, "dgfa").data(), "done");
}

TEST_F(pending_test, solved_refuses_more_than_max_solved_ids_and_changes_nothing) {
  auto t = now_s() + 1000;
  json::array ids;
  for (int i = 0; i < 6; ++i) ids.push_back(failed(t + i));
  auto r = solved("dgfa", ids);
  EXPECT_EQ(r.code(), 102) << r.body;
  EXPECT_EQ(r.data(), "msg_ids: holds 6 ids, the limit is 5");
  EXPECT_EQ(pending("consumer=dgfa").data().at("count"), 6);
  ids.pop_back();
  r = solved("dgfa", ids);  // exactly the limit
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(r.data().as_object().size(), 5u);
  EXPECT_EQ(pending("consumer=dgfa").data().at("count"), 1);
}

TEST_F(pending_test, solved_refuses_malformed_ids_and_changes_nothing) {
  auto id = failed(now_s() + 1000);
  auto sid = std::to_string(id);
  const std::pair<std::string, std::string> cases[] = {
      {R"({"consumer":"dgfa"})", "msg_ids: must be a non-empty array of message ids"},
      {R"({"consumer":"dgfa","msg_ids":[]})", "msg_ids: must be a non-empty array of message ids"},
      {R"({"consumer":"dgfa","msg_ids":")" + sid + R"("})",
       "msg_ids: must be a non-empty array of message ids"},
      {R"({"consumer":"dgfa","msg_ids":{"a":1}})",
       "msg_ids: must be a non-empty array of message ids"},
      {R"({"consumer":"dgfa","msg_ids":[)" + sid + R"(,"abc"]})",
       "msg_ids[1]: must be a positive integer message id"},
      {R"({"consumer":"dgfa","msg_ids":[0]})", "msg_ids[0]: must be a positive integer message id"},
      {R"({"consumer":"dgfa","msg_ids":[-5]})",
       "msg_ids[0]: must be a positive integer message id"},
      {R"({"consumer":"dgfa","msg_ids":[1.5]})",
       "msg_ids[0]: must be a positive integer message id"},
      {R"({"consumer":"dgfa","msg_ids":[null]})",
       "msg_ids[0]: must be a positive integer message id"},
      {R"({"consumer":"dgfa","msg_ids":[9007199254740992]})",
       "msg_ids[0]: must be a positive integer message id"},
      {R"({"msg_ids":[)" + sid + "]}", "consumer: is required"},
      {R"({"consumer":"","msg_ids":[)" + sid + "]}", "consumer: is required"},
      {R"({"consumer":7,"msg_ids":[)" + sid + "]}", "consumer: must be a string"},
      {R"({"consumer":"nobody","msg_ids":[)" + sid + "]}", "consumer: 'nobody' is not configured"},
  };
  for (const auto& [body, why] : cases) {
    SCOPED_TRACE(body);
    auto r = solved(body);
    EXPECT_EQ(r.code(), 102) << r.body;
    EXPECT_EQ(r.data(), json::value(why)) << r.body;
  }
  EXPECT_EQ(status(id, "dgfa").data(), "failure");
  EXPECT_EQ(pending("consumer=dgfa").data().at("count"), 1);
}

TEST_F(pending_test, solved_refuses_a_body_that_is_not_an_object) {
  auto r = solved("[1,2]");
  EXPECT_EQ(r.code(), 101) << r.body;
  EXPECT_EQ(r.data(), "body: must be a JSON object");
  r = solved(R"({"consumer":"dgfa",)");
  EXPECT_EQ(r.code(), 101) << r.body;
  EXPECT_TRUE(r.data().is_null());
}

}  // namespace
}  // namespace dmq::e2e
