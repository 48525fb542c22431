// refusals_test: every refusal the seed documents (NOTES.md "Ingest" and "status/detail"),
// each with its code, its data and nothing written to Redis.
#include "fixture.h"

namespace dmq::e2e {
namespace {

struct refusals_test : dmq_test {
  // refused posts m and expects code and data == why; nothing may be stored.
  void refused(const json::object& m, long long code, const std::string& why) {
    auto r = post_single(m);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.code(), code) << r.body;
    EXPECT_EQ(r.data(), json::value(why)) << r.body;
    EXPECT_EQ(r.json().at("message"), json::value(why));
    EXPECT_TRUE(message_keys().empty());
  }
};

TEST_F(refusals_test, a_missing_required_field_is_named) {
  for (const char* field : {"project", "cmd", "bucket"}) {
    SCOPED_TRACE(field);
    auto m = order();
    m.erase(field);
    refused(m, 102, std::string(field) + ": is required (a non-empty string)");
  }
}

TEST_F(refusals_test, a_null_required_field_counts_as_missing) {
  for (const char* field : {"project", "cmd", "bucket"}) {
    SCOPED_TRACE(field);
    auto m = order();
    m[field] = nullptr;
    refused(m, 102, std::string(field) + ": is required (a non-empty string)");
  }
}

TEST_F(refusals_test, an_empty_required_field_is_named) {
  for (const char* field : {"project", "cmd", "bucket"}) {
    SCOPED_TRACE(field);
    auto m = order();
    m[field] = "";
    refused(m, 102, std::string(field) + ": must be a non-empty string");
  }
}

TEST_F(refusals_test, fields_are_checked_before_the_producer) {
  json::object m{{"project", "nobody"}, {"cmd", "sds:create:order"}};
  refused(m, 102, "bucket: is required (a non-empty string)");
}

TEST_F(refusals_test, an_unknown_project_is_103) {
  auto m = order();
  m["project"] = "nobody";
  refused(m, 103, "project: 'nobody' is not a producer in product_list");
}

TEST_F(refusals_test, an_unknown_cmd_is_104) {
  auto m = order();
  m["cmd"] = "sds:delete:order";
  refused(m, 104, "cmd: 'sds:delete:order' is not configured");
}

TEST_F(refusals_test, a_cmd_of_another_project_is_104) {
  auto m = order();
  m["cmd"] = "svs:notice:user";
  refused(m, 104, "cmd: 'svs:notice:user' belongs to project 'svs'");
}

TEST_F(refusals_test, the_producer_is_checked_before_the_cmd) {
  auto m = order();
  m["project"] = "nobody";
  m["cmd"] = "nothing";
  refused(m, 103, "project: 'nobody' is not a producer in product_list");
}

TEST_F(refusals_test, invalid_json_is_101_with_null_data) {
  auto r = post_single(R"({"project":"sds",)");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.code(), 101) << r.body;
  EXPECT_TRUE(r.data().is_null()) << r.body;
  EXPECT_EQ(r.json().at("message").as_string().find("invalid JSON"), 0u) << r.body;
  EXPECT_TRUE(message_keys().empty());
}

TEST_F(refusals_test, an_empty_body_is_101) {
  auto r = post_single(std::string{});
  EXPECT_EQ(r.code(), 101) << r.body;
  EXPECT_TRUE(r.data().is_null());
  EXPECT_EQ(r.json().at("message"), "invalid JSON: the body is empty");
}

TEST_F(refusals_test, status_and_detail_refuse_an_unknown_consumer) {
  auto id = saved(order());
  for (const char* what : {"status", "detail"}) {
    SCOPED_TRACE(what);
    auto r = get(std::string("/api/message/") + what + "?msg_id=" + std::to_string(id) +
                 "&consumer=nobody");
    EXPECT_EQ(r.code(), 102) << r.body;
    EXPECT_EQ(r.data(), "consumer: 'nobody' is not configured");
  }
}

TEST_F(refusals_test, status_and_detail_require_a_consumer) {
  auto id = std::to_string(saved(order()));
  for (const char* what : {"status", "detail"}) {
    for (const std::string& q : {"?msg_id=" + id, "?msg_id=" + id + "&consumer="}) {
      SCOPED_TRACE(std::string(what) + q);
      auto r = get(std::string("/api/message/") + what + q);
      EXPECT_EQ(r.code(), 102) << r.body;
      EXPECT_EQ(r.data(), "consumer: is required");
    }
  }
}

TEST_F(refusals_test, status_and_detail_refuse_a_missing_zero_or_malformed_msg_id) {
  saved(order());
  const char* bad_ids[] = {"",
                           "msg_id=",
                           "msg_id=0",
                           "msg_id=abc",
                           "msg_id=-1",
                           "msg_id=1.5",
                           "msg_id=12abc",
                           "msg_id=%20%31",
                           "msg_id=9007199254740992",  // 2^53: no dmq id is that large
                           "msg_id=99999999999999999999999"};
  for (const char* what : {"status", "detail"}) {
    for (const char* q : bad_ids) {
      SCOPED_TRACE(std::string(what) + " " + q);
      auto r = get(std::string("/api/message/") + what + "?consumer=dgfa&" + q);
      EXPECT_EQ(r.status, 200);
      EXPECT_EQ(r.code(), 102) << r.body;
      EXPECT_EQ(r.data(), "msg_id: must be a positive integer message id");
    }
  }
}

TEST_F(refusals_test, detail_of_an_unknown_id_is_114) {
  auto id = saved(order());
  auto r = detail(id + 1, "dgfa");
  EXPECT_EQ(r.code(), 114) << r.body;
  EXPECT_TRUE(r.data().is_null());
  EXPECT_EQ(r.json().at("message"), "message not found (unknown or expired)");
}

TEST_F(refusals_test, detail_through_a_consumer_of_another_project_does_not_find_it) {
  auto id = saved(order());  // project sds; wet234 consumes svs
  auto r = detail(id, "wet234");
  EXPECT_EQ(r.code(), 114) << r.body;
}

TEST_F(refusals_test, status_of_an_unknown_id_is_unknown) {
  auto id = saved(order());
  auto r = status(id + 1, "dgfa");
  EXPECT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(r.data(), "unknown");
  r = status(id, "wet234");  // a consumer the message's cmd does not have
  EXPECT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(r.data(), "unknown");
}

// A project whose allow_ip does not hold the caller's address (127.0.0.1).
struct caller_not_allowed_test : refusals_test {
  void edit_config(std::string& yaml) const override {
    ASSERT_TRUE(replace_once(yaml, "  - project: sds\n    allow_ip: [127.0.0.1]\n",
                             "  - project: sds\n    allow_ip: [10.0.0.1, 192.168.0.0/16]\n"));
  }
};

TEST_F(caller_not_allowed_test, a_caller_outside_allow_ip_is_103) {
  refused(order(), 103, "project: 'sds' does not allow callers from 127.0.0.1");
}

TEST_F(caller_not_allowed_test, other_projects_still_accept_the_caller) {
  auto id = saved(notice());
  EXPECT_EQ(hget(status_key(id, "svs"), "wet234"), "waiting");
}

TEST_F(caller_not_allowed_test, a_batch_refuses_only_that_projects_messages) {
  auto r = post_batch(json::array{order(), notice()});
  ASSERT_EQ(r.code(), 0) << r.body;
  auto d = r.data().as_array();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0], "project: 'sds' does not allow callers from 127.0.0.1");
  ASSERT_TRUE(d[1].is_int64()) << r.body;
  EXPECT_EQ(message_keys(),
            std::set<std::string>{msg_key(static_cast<std::uint64_t>(d[1].get_int64()), "svs")});
}

}  // namespace
}  // namespace dmq::e2e
