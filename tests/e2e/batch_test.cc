// batch_test: POST /api/message/batch - one answer per item in order, the item limit
// (limits.max_batch_items, 50 here) and what reaches Redis.
#include "fixture.h"

namespace dmq::e2e {
namespace {

struct batch_test : dmq_test {
  std::string extra_yaml() const override { return "limits:\n  max_batch_items: 50\n"; }

  static json::array orders(int n) {
    json::array a;
    for (int i = 0; i < n; ++i) a.push_back(order("b" + std::to_string(i)));
    return a;
  }
};

TEST_F(batch_test, a_batch_of_one_saves_it) {
  auto r = post_batch(orders(1));
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.code(), 0) << r.body;
  auto d = r.data().as_array();
  ASSERT_EQ(d.size(), 1u);
  ASSERT_TRUE(d[0].is_int64()) << r.body;
  auto id = static_cast<std::uint64_t>(d[0].get_int64());
  EXPECT_LT(id, two_pow_53);
  EXPECT_EQ(hget(msg_key(id), "bucket"), "b0");
  EXPECT_EQ(hget(status_key(id), "dgfa"), "waiting");
  EXPECT_EQ(status(id, "fghyds").data(), "waiting");
}

TEST_F(batch_test, a_batch_of_exactly_the_limit_is_saved_whole_in_order) {
  auto r = post_batch(orders(50));
  ASSERT_EQ(r.code(), 0) << r.body;
  auto d = r.data().as_array();
  ASSERT_EQ(d.size(), 50u);
  std::set<std::string> expected;
  std::uint64_t last = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    ASSERT_TRUE(d[i].is_int64()) << i << ": " << r.body;
    auto id = static_cast<std::uint64_t>(d[i].get_int64());
    EXPECT_GT(id, last) << "ids follow the items' order";
    last = id;
    expected.insert(msg_key(id));
    EXPECT_EQ(hget(msg_key(id), "bucket"), "b" + std::to_string(i));
    EXPECT_EQ(hget(status_key(id), "fghyds"), "waiting");
  }
  EXPECT_EQ(message_keys(), expected);
  EXPECT_EQ(redis.cmd({"ZCARD", queue_key("dgfa")}).integer, 50);
  EXPECT_EQ(redis.cmd({"ZCARD", queue_key("fghyds")}).integer, 50);
}

TEST_F(batch_test, one_over_the_limit_is_refused_whole) {
  auto r = post_batch(orders(51));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.code(), 102) << r.body;
  EXPECT_EQ(r.data(), "batch: holds 51 messages, the limit is 50");
  EXPECT_TRUE(message_keys().empty());
  EXPECT_EQ(redis.cmd({"EXISTS", queue_key("dgfa"), queue_key("fghyds")}).integer, 0);
}

TEST_F(batch_test, an_empty_array_is_refused) {
  auto r = post_batch("[]");
  EXPECT_EQ(r.code(), 102) << r.body;
  EXPECT_EQ(r.data(), "batch: must hold at least one message");
}

TEST_F(batch_test, a_body_that_is_not_an_array_is_101) {
  for (const std::string& body :
       {text(order()), std::string("\"x\""), std::string("42"), std::string("null")}) {
    SCOPED_TRACE(body);
    auto r = post_batch(body);
    EXPECT_EQ(r.code(), 101) << r.body;
    EXPECT_EQ(r.data(), "batch: body must be a JSON array");
  }
  EXPECT_TRUE(message_keys().empty());
}

TEST_F(batch_test, invalid_json_is_101_with_null_data) {
  auto r = post_batch(R"([{"project":"sds"},)");
  EXPECT_EQ(r.code(), 101) << r.body;
  EXPECT_TRUE(r.data().is_null());
}

TEST_F(batch_test, mixed_items_each_get_their_own_answer_in_order) {
  auto no_bucket = order();
  no_bucket.erase("bucket");
  auto unknown_project = order();
  unknown_project["project"] = "nobody";
  auto foreign_cmd = order();
  foreign_cmd["cmd"] = "svs:notice:user";
  auto bad_ts = order();
  bad_ts["timestamp"] = "soon";
  json::array items{order("first"), no_bucket, unknown_project, notice("second"), 42,
                    foreign_cmd,    bad_ts,    order("third")};

  auto r = post_batch(items);
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.code(), 0) << r.body;
  auto d = r.data().as_array();
  ASSERT_EQ(d.size(), items.size());
  EXPECT_EQ(d[1], "bucket: is required (a non-empty string)");
  EXPECT_EQ(d[2], "project: 'nobody' is not a producer in product_list");
  EXPECT_EQ(d[4], "message: must be a JSON object");
  EXPECT_EQ(d[5], "cmd: 'svs:notice:user' belongs to project 'svs'");
  EXPECT_EQ(d[6], "timestamp: must be an integer");
  for (std::size_t i : {0u, 3u, 7u}) ASSERT_TRUE(d[i].is_int64()) << i << ": " << r.body;
  auto first = static_cast<std::uint64_t>(d[0].get_int64());
  auto second = static_cast<std::uint64_t>(d[3].get_int64());
  auto third = static_cast<std::uint64_t>(d[7].get_int64());
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);

  EXPECT_EQ(message_keys(),
            (std::set<std::string>{msg_key(first), msg_key(second, "svs"), msg_key(third)}));
  EXPECT_EQ(hget(msg_key(first), "bucket"), "first");
  EXPECT_EQ(hget(msg_key(second, "svs"), "bucket"), "second");
  EXPECT_EQ(hget(msg_key(third), "bucket"), "third");
  EXPECT_EQ(hget(status_key(second, "svs"), "wet234"), "waiting");
}

TEST_F(batch_test, a_batch_of_only_refused_items_stores_nothing) {
  auto m = order();
  m["cmd"] = "nothing";
  auto r = post_batch(json::array{m, m});
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(r.data(),
            (json::array{"cmd: 'nothing' is not configured", "cmd: 'nothing' is not configured"}));
  EXPECT_TRUE(message_keys().empty());
}

}  // namespace
}  // namespace dmq::e2e
