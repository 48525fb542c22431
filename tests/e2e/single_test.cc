// single_test: POST /api/message/single, and reading the message back through
// /api/message/status and /api/message/detail and straight from Redis.
#include "fixture.h"

namespace dmq::e2e {
namespace {

using single_test = dmq_test;

// clock_slack_ms: how far dmq's estimate of Redis's clock may be from the test's clock.
constexpr std::int64_t clock_slack_ms = 5;

TEST_F(single_test, saves_the_message_and_answers_its_id) {
  auto before = now_ms();
  auto r = post_single(order());
  auto after = now_ms();
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(r.json().at("message"), "");
  ASSERT_TRUE(r.data().is_int64()) << r.body;  // a JSON number, not a string
  auto id = id_of(r);
  EXPECT_GT(id, 0u);
  EXPECT_LT(id, two_pow_53);

  auto m = msg_key(id);
  EXPECT_EQ(hget(m, "params"), R"({"order_id":1})");
  EXPECT_EQ(hget(m, "cmd"), "sds:create:order");
  EXPECT_EQ(hget(m, "bucket"), "order-1");
  EXPECT_EQ(hget(m, "rid"), "rid-1");
  // dmq stamps on Redis's clock as it estimates it (storage/clock.h: within half a round
  // trip), the test reads its own: a few ms of slack each way (seen 1 ms off under load).
  auto ct = std::stoll(hget(m, "ct"));
  EXPECT_GE(ct, before - clock_slack_ms);
  EXPECT_LE(ct, after + clock_slack_ms);
  EXPECT_EQ(hget(m, "due"), hget(m, "ct"));  // no timestamp, no delay: due now
  EXPECT_GT(redis.cmd({"PTTL", m}).integer, 0) << "message data must expire";

  // One status per consumer, in the same record; the statuses outlive the data.
  auto rec = storage::decode_record(redis.cmd({"GET", m}).str);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->consumers.size(), 2u);
  EXPECT_EQ(hget(m, "dgfa"), "waiting");
  EXPECT_EQ(hget(m, "fghyds"), "waiting");
  auto data_ttl = rec->data_expire_at_ms - after;
  EXPECT_GT(data_ttl, 0);
  EXPECT_GT(redis.cmd({"PTTL", m}).integer, data_ttl + 1000);

  // One delivery per consumer in the project's queue, due at the message's due time.
  EXPECT_EQ(queue_score(id, "dgfa"), hget(m, "due"));
  EXPECT_EQ(queue_score(id, "fghyds"), hget(m, "due"));
}

TEST_F(single_test, a_message_of_another_project_goes_under_its_own_hash_tag) {
  auto id = saved(notice());
  EXPECT_EQ(hget(msg_key(id, "svs"), "cmd"), "svs:notice:user");
  EXPECT_EQ(hget(status_key(id, "svs"), "wet234"), "waiting");
  EXPECT_NE(queue_score(id, "wet234", "svs"), "");
  EXPECT_EQ(redis.cmd({"EXISTS", msg_key(id, "sds")}).integer, 0);
  auto st = status(id, "wet234");
  EXPECT_EQ(st.code(), 0) << st.body;
  EXPECT_EQ(st.data(), "waiting");
}

TEST_F(single_test, status_of_a_new_message_is_waiting_for_each_consumer) {
  auto id = saved(order());
  for (const char* consumer : {"dgfa", "fghyds"}) {
    auto r = status(id, consumer);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.code(), 0) << r.body;
    EXPECT_EQ(r.data(), "waiting") << consumer;
  }
}

TEST_F(single_test, detail_answers_the_seed_fields) {
  auto m = order("bucket-7");
  m["request_id"] = "trace-42";
  auto before = now_s();
  auto id = saved(m);
  auto after = now_s();

  auto r = detail(id, "dgfa");
  ASSERT_EQ(r.code(), 0) << r.body;
  auto d = r.data().as_object();
  EXPECT_EQ(d.at("id").to_number<std::uint64_t>(), id);
  EXPECT_EQ(d.at("cmd"), "sds:create:order");
  EXPECT_EQ(d.at("params"), R"({"order_id":1})");
  EXPECT_EQ(d.at("project"), "sds");
  EXPECT_EQ(d.at("bucket"), "bucket-7");
  EXPECT_EQ(d.at("request_id"), "trace-42");
  auto ts = d.at("timestamp").to_number<std::int64_t>();  // seconds, as the seed
  EXPECT_GE(ts, before);
  EXPECT_LE(ts, after);
  auto ct = d.at("create_time").to_number<std::int64_t>();
  EXPECT_GE(ct, before);
  EXPECT_LE(ct, after);
}

TEST_F(single_test, detail_of_a_message_without_optional_fields_answers_empty_strings) {
  auto id = saved({{"project", "sds"}, {"cmd", "sds:create:order"}, {"bucket", "b"}});
  EXPECT_EQ(hget(msg_key(id), "params"), "");
  EXPECT_EQ(hget(msg_key(id), "rid"), "");
  auto r = detail(id, "fghyds");
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(r.data().at("params"), "");
  EXPECT_EQ(r.data().at("request_id"), "");
}

TEST_F(single_test, a_timestamp_in_seconds_sets_the_due_time) {
  auto due = now_s() + 3600;
  auto m = order();
  m["timestamp"] = due;
  auto id = saved(m);
  EXPECT_EQ(hget(msg_key(id), "due"), std::to_string(due * 1000));
  EXPECT_EQ(queue_score(id, "dgfa"), std::to_string(due * 1000));
  auto d = detail(id, "dgfa").data();
  EXPECT_EQ(d.at("timestamp").to_number<std::int64_t>(), due);
  EXPECT_EQ(d.at("due_ms").to_number<std::int64_t>(), due * 1000);
  EXPECT_LE(d.at("create_time").to_number<std::int64_t>(), now_s());
}

TEST_F(single_test, a_timestamp_of_zero_means_now) {
  auto m = order();
  m["timestamp"] = 0;
  auto before = now_ms();
  auto id = saved(m);
  auto due = std::stoll(hget(msg_key(id), "due"));
  EXPECT_GE(due, before - clock_slack_ms);  // Redis's clock as dmq estimates it: see above
  EXPECT_LE(due, now_ms() + clock_slack_ms);
}

TEST_F(single_test, delay_ms_schedules_the_message_that_much_later) {
  constexpr std::int64_t delay = 90'000;
  auto m = order();
  m["delay_ms"] = delay;
  auto before = now_ms();
  auto id = saved(m);
  auto after = now_ms();
  auto due = std::stoll(hget(msg_key(id), "due"));
  // dmq's clock is Redis's TIME, estimated to within its deadband (0.5 ms, storage/clock.h)
  // and read in whole ms: it may trail the test's wall clock by a ms or two.
  constexpr std::int64_t clock_slack = 2;
  EXPECT_GE(due, before + delay - clock_slack);
  EXPECT_LE(due, after + delay + clock_slack);
  auto d = detail(id, "dgfa").data();
  EXPECT_EQ(d.at("due_ms").to_number<std::int64_t>(), due);
  EXPECT_EQ(d.at("timestamp").to_number<std::int64_t>(), due / 1000);
}

TEST_F(single_test, ids_increase_from_one_message_to_the_next) {
  std::uint64_t last = 0;
  for (int i = 0; i < 20; ++i) {
    auto id = saved(order("b" + std::to_string(i)));
    EXPECT_GT(id, last);
    last = id;
  }
  EXPECT_EQ(message_keys().size(), 20u);
}

TEST_F(single_test, ids_are_not_the_seeds_but_larger_and_safe_in_javascript) {
  auto id = saved(order());
  EXPECT_GT(id, 99'999'999'999'999u);  // every seed id has 14 digits
  EXPECT_LT(id, two_pow_53);
  auto d = detail(id, "dgfa");
  EXPECT_EQ(d.data().at("id").to_number<std::uint64_t>(), id);
}

}  // namespace
}  // namespace dmq::e2e
