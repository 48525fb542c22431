// operators_test: the operators' endpoints of issue 14 against a real dmq run, Redis and
// consumer: a message's per-consumer detail, find by request_id and idempotency key, pages
// of a consumer's queue (past 10,000 entries, ties included) and failed list, reschedule,
// and bulk replay and solve jobs.
#include <algorithm>
#include <cstdint>
#include <set>

#include "delivery_fixture.h"

namespace dmq::e2e {
namespace {

struct operators_test : delivery_test {
  void configure() override {
    dgfa.retry_times = 0;  // one try, then failure
    fghyds.retry_times = 0;
  }
  test::http_reply get(const std::string& path) const { return test::call(port, "GET", path); }
  test::http_reply post_json(const std::string& path, const json::object& body) const {
    return test::call(port, "POST", path, text(body));
  }
  // with_rid is a message of sds:create:order carrying request_id rid.
  static json::object with_rid(const std::string& rid, std::int64_t delay_ms = 0) {
    auto m = message(R"({"order_id":7})", delay_ms);
    m["request_id"] = rid;
    return m;
  }
  // all_pages reads every page of path (a query without cursor) and returns the ids in order.
  std::vector<std::string> all_pages(const std::string& path, int* pages = nullptr,
                                     std::string cursor = "") const {
    std::vector<std::string> ids;
    for (int n = 1; n <= 1000; ++n) {  // bounded
      auto r = get(path + (cursor.empty() ? "" : "&cursor=" + cursor));
      EXPECT_EQ(r.code(), 0) << r.body.substr(0, 300);
      if (r.code() != 0) break;
      auto data = r.data();
      for (const auto& e : data.at("list").as_array()) ids.emplace_back(e.at("msg_id").as_string());
      cursor = std::string(r.data().at("next_cursor").as_string());
      if (pages) *pages = n;
      if (cursor.empty()) break;
    }
    return ids;
  }
};

TEST_F(operators_test, detail_shows_each_consumers_side) {
  auto id = post(message("{}", 60000));
  auto r = get("/api/message/detail?consumer=dgfa&msg_id=" + std::to_string(id));
  ASSERT_EQ(r.code(), 0) << r.body;
  auto data = r.data();
  const auto& sides = data.at("consumers").as_array();
  ASSERT_EQ(sides.size(), 2u) << r.body;
  EXPECT_EQ(sides[0].at("consumer"), "dgfa");
  EXPECT_EQ(sides[0].at("status"), "waiting");
  EXPECT_EQ(sides[0].at("attempts"), 0);
  auto due = data.at("due_ms").to_number<std::int64_t>();
  EXPECT_EQ(sides[0].at("next_attempt_ms").to_number<std::int64_t>(), due);
  EXPECT_TRUE(sides[0].at("last_attempt").is_null());
}

TEST_F(operators_test, find_answers_the_ids_sent_with_a_request_id) {
  auto a = post(with_rid("order-77", 60000));
  auto b = post(with_rid("order-77", 60000));
  post(with_rid("order-78", 60000));
  auto r = get("/api/message/find?project=sds&request_id=order-77");
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(r.data().at("ids"),
            (json::array{json::string(std::to_string(a)), json::string(std::to_string(b))}));
  // A cancelled message is still found (its record lives); an unknown request_id is empty.
  EXPECT_EQ(get("/api/message/find?project=sds&request_id=nope").data().at("ids"), json::array{});
  // Its index expires with the records: at most their expiry, and it has one.
  auto ttl = redis.cmd({"PTTL", "dmq:{sds}:f:order-77"}).integer;
  auto rec_ttl = redis.cmd({"PTTL", "dmq:{sds}:m:" + std::to_string(b)}).integer;
  EXPECT_GT(ttl, 0);
  EXPECT_LE(std::abs(ttl - rec_ttl), 2000) << ttl << " vs " << rec_ttl;
  // By idempotency key.
  auto m = message("{}", 60000);
  m["idempotency_key"] = "k-1";
  auto k = post(m);
  auto byk = get("/api/message/find?project=sds&idempotency_key=k-1");
  ASSERT_EQ(byk.code(), 0) << byk.body;
  EXPECT_EQ(byk.data().at("ids"), (json::array{json::string(std::to_string(k))}));
  // Bad input names the field.
  EXPECT_EQ(get("/api/message/find?request_id=x").code(), 102);
  EXPECT_EQ(get("/api/message/find?project=sds").code(), 102);
  EXPECT_EQ(get("/api/message/find?project=sds&request_id=a&idempotency_key=b").code(), 102);
  EXPECT_EQ(get("/api/message/find?project=nope&request_id=a").code(), 103);
}

TEST_F(operators_test, a_message_saved_by_script_is_found_too) {
  // Ordered and keyed messages are saved by save-1, unordered ones by a transaction.
  auto m = message("{}", 60000);
  m["request_id"] = "via-script";
  m["idempotency_key"] = "via-script";
  auto id = post(m);
  auto r = get("/api/message/find?project=sds&request_id=via-script");
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(r.data().at("ids"), (json::array{json::string(std::to_string(id))}));
}

TEST_F(operators_test, scheduled_pages_past_ten_thousand_entries_list_each_once) {
  // 12,000 messages in 24 batches, each batch due in the same whole second: ties in score.
  std::set<std::string> sent;
  auto due_s = now_s() + 3600;
  for (int b = 0; b < 24; ++b) {
    json::array batch;
    for (int i = 0; i < 500; ++i) {
      auto m = message("{}");
      m["timestamp"] = due_s + b % 3;
      batch.push_back(m);
    }
    auto r = test::call(port, "POST", "/api/message/batch", text(batch));
    ASSERT_EQ(r.code(), 0) << r.body.substr(0, 300);
    auto answers = r.data();
    for (const auto& v : answers.as_array())
      sent.insert(std::to_string(v.to_number<std::uint64_t>()));
  }
  ASSERT_EQ(sent.size(), 12000u);
  // The first page's last entry is cancelled before the next page is read: the cursor is a
  // position, so nothing is skipped or listed twice.
  auto first = get("/api/message/scheduled?consumer=dgfa&limit=1000");
  ASSERT_EQ(first.code(), 0) << first.body.substr(0, 300);
  auto first_data = first.data();
  EXPECT_EQ(first_data.at("count"), 12000);
  const auto& l = first_data.at("list").as_array();
  ASSERT_EQ(l.size(), 1000u);
  auto last = std::string(l.back().at("msg_id").as_string());
  ASSERT_EQ(post_json("/api/message/cancel", {{"msg_id", last}}).code(), 0);
  std::vector<std::string> ids;
  for (const auto& e : l) ids.emplace_back(e.at("msg_id").as_string());
  int pages = 0;
  auto rest = all_pages("/api/message/scheduled?consumer=dgfa&limit=1000", &pages,
                        std::string(first_data.at("next_cursor").as_string()));
  ids.insert(ids.end(), rest.begin(), rest.end());
  EXPECT_EQ(ids.size(), 12000u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), sent);
  EXPECT_GE(pages, 11);
  // In order of due time.
  std::int64_t prev = 0;
  auto ordered = get("/api/message/scheduled?consumer=dgfa&limit=1000").data();
  for (const auto& e : ordered.at("list").as_array()) {
    auto d = e.at("due_ms").to_number<std::int64_t>();
    EXPECT_LE(prev, d);
    prev = d;
  }
  // A range and a bad cursor.
  auto ranged =
      get("/api/message/scheduled?consumer=dgfa&start_ms=" + std::to_string((due_s + 1) * 1000) +
          "&end_ms=" + std::to_string((due_s + 1) * 1000));
  EXPECT_EQ(ranged.data().at("count"), 4000);
  EXPECT_EQ(get("/api/message/scheduled?consumer=dgfa&cursor=zzz").code(), 102);
  EXPECT_EQ(get("/api/message/scheduled?consumer=dgfa&limit=0").code(), 102);
  EXPECT_EQ(get("/api/message/scheduled?consumer=nope").code(), 102);
}

TEST_F(operators_test, failed_list_pages_and_filters) {
  endpoint.when_path("/dgfa/", answer::with_status(500));
  std::set<std::string> failed;
  for (int i = 0; i < 30; ++i) {
    auto m = message(i % 3 == 0 ? R"({"kind":"gold"})" : R"({"kind":"plain"})");
    m["request_id"] = "r-" + std::to_string(i);
    failed.insert(std::to_string(post(m)));
  }
  ASSERT_TRUE(test::wait_until(
      [&] { return get("/api/message/failed?consumer=dgfa").data().at("count") == 30; }, 10s));
  auto all = all_pages("/api/message/failed?consumer=dgfa&limit=7");
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()), failed);
  EXPECT_EQ(all.size(), 30u);
  auto gold = all_pages("/api/message/failed?consumer=dgfa&limit=4&q=gold");
  EXPECT_EQ(gold.size(), 10u);
  auto one = get("/api/message/failed?consumer=dgfa&q=r-12");
  ASSERT_EQ(one.data().at("list").as_array().size(), 1u) << one.body;
  EXPECT_EQ(one.data().at("list").as_array()[0].at("request_id"), "r-12");
  EXPECT_EQ(one.data().at("list").as_array()[0].at("cmd"), "sds:create:order");
  EXPECT_EQ(all_pages("/api/message/failed?consumer=dgfa&cmd=other").size(), 0u);
}

TEST_F(operators_test, reschedule_moves_a_waiting_message_and_keeps_its_id) {
  auto id = post(message("{}", 3600 * 1000));
  auto r = post_json("/api/message/reschedule", {{"msg_id", id}, {"delay_ms", 200}});
  ASSERT_EQ(r.code(), 0) << r.body;
  auto due = r.data().at("due_ms").to_number<std::int64_t>();
  EXPECT_LE(std::abs(due - (now_ms() + 200)), 2000);
  // Delivered at its new time, to both consumers, once.
  ASSERT_TRUE(wait_status(id, "dgfa", "done", 5s));
  ASSERT_TRUE(wait_status(id, "fghyds", "done", 5s));
  EXPECT_EQ(endpoint.for_id(id, "/dgfa/").size(), 1u);
  auto d = get("/api/message/detail?consumer=dgfa&msg_id=" + std::to_string(id));
  EXPECT_EQ(d.data().at("due_ms").to_number<std::int64_t>(), due);
  // Once started it cannot move; unknown ids and bad input are refused clearly.
  EXPECT_EQ(post_json("/api/message/reschedule", {{"msg_id", id}, {"delay_ms", 1000}}).code(), 126);
  EXPECT_EQ(post_json("/api/message/reschedule", {{"msg_id", 4242}, {"delay_ms", 1000}}).code(),
            114);
  EXPECT_EQ(post_json("/api/message/reschedule", {{"msg_id", id}}).code(), 102);
  EXPECT_EQ(
      post_json("/api/message/reschedule", {{"msg_id", id}, {"delay_ms", 1}, {"timestamp", 1}})
          .code(),
      102);
  EXPECT_EQ(post_json("/api/message/reschedule", {{"msg_id", id}, {"delay_ms", -5}}).code(), 102);
}

TEST_F(operators_test, reschedule_later_keeps_it_from_being_delivered_early) {
  auto id = post(message("{}", 300));
  auto later = now_s() + 3600;
  auto r = post_json("/api/message/reschedule", {{"msg_id", id}, {"timestamp", later}});
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(r.data().at("due_ms").to_number<std::int64_t>(), later * 1000);
  auto score = redis.cmd({"ZSCORE", "dmq:{sds}:q:dgfa", std::to_string(id)}).str;
  EXPECT_EQ(score, std::to_string(later * 1000));
  // The record lives at least msg_save_days x 2 past the new due time.
  auto ttl = redis.cmd({"PTTL", "dmq:{sds}:m:" + std::to_string(id)}).integer;
  EXPECT_GT(ttl, 3600 * 1000);
  // Past the old due time nothing arrives.
  EXPECT_FALSE(endpoint.wait_for_count(1, 1500ms));
  EXPECT_EQ(status(id, "dgfa"), "waiting");
}

TEST_F(operators_test, a_replay_job_requeues_the_failed_messages_at_its_rate) {
  endpoint.when_path("/dgfa/", answer::with_status(500).first(1));  // each fails once
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 40; ++i) ids.push_back(post(message("{}")));
  ASSERT_TRUE(test::wait_until(
      [&] { return get("/api/message/failed?consumer=dgfa").data().at("count") == 40; }, 10s));
  auto r = post_json("/api/jobs", {{"kind", "replay"}, {"consumer", "dgfa"}, {"rate", 20}});
  ASSERT_EQ(r.code(), 0) << r.body;
  std::string job(r.data().at("job_id").as_string());
  // At 20 per second, 40 take about 2 s: the job is seen running with partial progress.
  json::value seen;
  bool partial = test::wait_until(
      [&] {
        seen = get("/api/jobs?id=" + job).data();
        auto p = seen.at("processed").to_number<std::int64_t>();
        return p > 0 && p < 40;
      },
      5s);
  EXPECT_TRUE(partial) << seen;
  ASSERT_TRUE(test::wait_until(
      [&] { return get("/api/jobs?id=" + job).data().at("state") == "done"; }, 10s));
  auto done = get("/api/jobs?id=" + job).data();
  EXPECT_EQ(done.at("total"), 40);
  EXPECT_EQ(done.at("processed"), 40);
  EXPECT_EQ(done.at("succeeded"), 40);
  for (auto id : ids) EXPECT_TRUE(wait_status(id, "dgfa", "done", 5s)) << id;
  EXPECT_EQ(get("/api/message/failed?consumer=dgfa").data().at("count"), 0);
  // Listed among the jobs.
  auto list = get("/api/jobs").data().at("jobs").as_array();
  ASSERT_FALSE(list.empty());
  EXPECT_EQ(list[0].at("job_id"), json::value(job));
}

TEST_F(operators_test, a_solve_job_marks_them_done_and_can_be_cancelled) {
  endpoint.when_path("/dgfa/", answer::with_status(500));
  for (int i = 0; i < 30; ++i) post(message("{}"));
  ASSERT_TRUE(test::wait_until(
      [&] { return get("/api/message/failed?consumer=dgfa").data().at("count") == 30; }, 10s));
  auto r = post_json("/api/jobs", {{"kind", "solve"}, {"consumer", "dgfa"}, {"rate", 1}});
  ASSERT_EQ(r.code(), 0) << r.body;
  std::string job(r.data().at("job_id").as_string());
  auto c = post_json("/api/jobs/cancel", {{"job_id", job}});
  ASSERT_EQ(c.code(), 0) << c.body;
  EXPECT_EQ(c.data().at("state"), "cancelled");
  // At 1 per second it had time for one or two at most: most stay failed, and it stops.
  ASSERT_TRUE(test::wait_until(
      [&] { return get("/api/jobs?id=" + job).data().at("state") == "cancelled"; }, 5s));
  EXPECT_GE(get("/api/message/failed?consumer=dgfa").data().at("count").to_number<int>(), 28);
  auto all = post_json("/api/jobs", {{"kind", "solve"}, {"consumer", "dgfa"}, {"rate", 1000}});
  std::string job2(all.data().at("job_id").as_string());
  ASSERT_TRUE(test::wait_until(
      [&] { return get("/api/jobs?id=" + job2).data().at("state") == "done"; }, 10s));
  EXPECT_EQ(get("/api/message/failed?consumer=dgfa").data().at("count"), 0);
  // Bad input.
  EXPECT_EQ(post_json("/api/jobs", {{"kind", "x"}, {"consumer", "dgfa"}}).code(), 102);
  EXPECT_EQ(post_json("/api/jobs", {{"kind", "solve"}, {"consumer", "dgfa"}, {"rate", 0}}).code(),
            102);
  EXPECT_EQ(get("/api/jobs?id=zz").code(), 102);
  EXPECT_EQ(get("/api/jobs?id=abcdef").code(), 114);
}

TEST_F(operators_test, stats_count_each_consumers_queue) {
  endpoint.when_path("/dgfa/", answer::with_status(500));
  for (int i = 0; i < 3; ++i) post(message("{}", 3600 * 1000));
  auto f = post(message("{}"));
  ASSERT_TRUE(wait_status(f, "dgfa", "failure"));
  auto r = get("/api/stats?project=sds");
  ASSERT_EQ(r.code(), 0) << r.body;
  auto data = r.data();
  const auto& projects = data.at("projects").as_array();
  ASSERT_EQ(projects.size(), 1u);
  json::object dgfa_stats;
  for (const auto& c : projects[0].at("consumers").as_array())
    if (c.at("consumer") == "dgfa") dgfa_stats = c.as_object();
  ASSERT_FALSE(dgfa_stats.empty()) << r.body;
  EXPECT_EQ(dgfa_stats.at("waiting"), 3);
  EXPECT_EQ(dgfa_stats.at("due"), 0);
  EXPECT_EQ(dgfa_stats.at("failed"), 1);
  EXPECT_EQ(dgfa_stats.at("paused"), false);
  EXPECT_EQ(dgfa_stats.at("cmd"), "sds:create:order");
  EXPECT_EQ(get("/api/stats?project=nope").code(), 103);
}

TEST_F(operators_test, pause_is_kept_in_redis_and_resume_lifts_it) {
  auto p = post_json("/api/consumer/pause", {{"consumer", "dgfa"}});
  ASSERT_EQ(p.code(), 0) << p.body;
  EXPECT_EQ(p.data().at("paused"), true);
  auto since = p.data().at("since_ms").to_number<std::int64_t>();
  EXPECT_EQ(redis.cmd({"HGET", "dmq:{sds}:paused", "dgfa"}).str, std::to_string(since));
  // Pausing again keeps the first time.
  EXPECT_EQ(post_json("/api/consumer/pause", {{"consumer", "dgfa"}}).data().at("since_ms"), since);
  auto s = get("/api/stats?project=sds").data();
  bool shown = false;
  for (const auto& c : s.at("projects").as_array()[0].at("consumers").as_array())
    if (c.at("consumer") == "dgfa") shown = c.at("paused") == true;
  EXPECT_TRUE(shown) << s;
  auto r = post_json("/api/consumer/resume", {{"consumer", "dgfa"}});
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(r.data().at("was_paused"), true);
  EXPECT_EQ(redis.cmd({"HEXISTS", "dmq:{sds}:paused", "dgfa"}).integer, 0);
  EXPECT_EQ(post_json("/api/consumer/pause", {{"consumer", "nope"}}).code(), 102);
  EXPECT_EQ(post_json("/api/consumer/pause", json::object{}).code(), 102);
}

}  // namespace
}  // namespace dmq::e2e
