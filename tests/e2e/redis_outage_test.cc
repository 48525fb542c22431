// redis_outage_test: Redis killed or frozen under a running `dmq client`. Requests fail
// fast with the seed's codes (no hang), /healthz says so, and dmq reconnects by itself.
#include <thread>

#include "fixture.h"

namespace dmq::e2e {
namespace {

using redis_outage_test = dmq_test;

// timed runs f and returns how long it took.
template <class F>
std::chrono::milliseconds timed(F&& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               t0);
}

TEST_F(redis_outage_test, a_stopped_redis_fails_requests_fast_and_healthz_says_so) {
  auto id = saved(order());
  redis.stop();

  http_reply r;
  EXPECT_LT(timed([&] { r = post_single(order()); }), 3s);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.code(), 106) << r.body;
  EXPECT_EQ(r.data(), false);

  ASSERT_TRUE(test::wait_until([&] { return healthz().status == 503; }, 10s));
  auto h = healthz();
  EXPECT_EQ(h.code(), 124) << h.body;
  EXPECT_EQ(h.data().at("redis"), "down");

  auto b = post_batch(json::array{order(), order()});
  EXPECT_EQ(b.data(), (json::array{false, false})) << b.body;
  auto s = status(id, "dgfa");
  EXPECT_EQ(s.code(), 113) << s.body;
  EXPECT_EQ(s.data(), false);
  auto d = detail(id, "dgfa");
  EXPECT_EQ(d.code(), 114) << d.body;
  EXPECT_TRUE(d.data().is_null());
  auto p = get("/api/message/pending?consumer=dgfa");
  EXPECT_EQ(p.code(), 116) << p.body;
  auto v = test::call(port, "POST", "/api/message/solved",
                      R"({"consumer":"dgfa","msg_ids":[)" + std::to_string(id) + "]}");
  EXPECT_EQ(v.code(), 123) << v.body;
  // Refusals that need no Redis still answer as usual.
  auto bad = order();
  bad.erase("bucket");
  EXPECT_EQ(post_single(bad).code(), 102);
  EXPECT_TRUE(dmq->running());
  expect_alive = false;  // Redis stays down: /healthz rightly says 503
}

TEST_F(redis_outage_test, dmq_reconnects_when_redis_comes_back) {
  saved(order());
  redis.stop();
  ASSERT_TRUE(test::wait_until([&] { return healthz().status == 503; }, 10s));
  redis.start();  // empty: no persistence in tests
  ASSERT_TRUE(test::wait_until([&] { return healthy(); }, 10s)) << dmq->log();
  auto id = saved(order("after"));
  EXPECT_EQ(hget(msg_key(id), "bucket"), "after");
  EXPECT_EQ(status(id, "dgfa").data(), "waiting");
  EXPECT_EQ(detail(id, "dgfa").data().at("bucket"), "after");
}

TEST_F(redis_outage_test, requests_racing_a_dying_redis_all_get_an_answer) {
  redis.pause();
  std::vector<std::thread> pool;
  std::vector<long long> codes(6, -1);
  std::vector<std::chrono::milliseconds> took(6);
  for (int i = 0; i < 6; ++i)
    pool.emplace_back([&, i] { took[i] = timed([&] { codes[i] = post_single(order()).code(); }); });
  redis.stop();  // killed while frozen, with the requests waiting on it
  for (auto& t : pool) t.join();
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(codes[i], 106) << i;
    EXPECT_LT(took[i], 3s) << i;
  }
  // dmq has seen Redis go (or a /healthz from before could pass for one after the restart).
  ASSERT_TRUE(test::wait_until([&] { return healthz().status == 503; }, 10s));
  redis.start();
  ASSERT_TRUE(test::wait_until([&] { return healthy(); }, 10s)) << dmq->log();
  saved(order());
}

TEST_F(redis_outage_test, a_frozen_redis_fails_requests_within_the_timeout_not_a_hang) {
  saved(order());
  redis.pause();
  std::vector<std::thread> pool;
  std::vector<long long> codes(4, -1);
  std::vector<std::chrono::milliseconds> took(4);
  for (int i = 0; i < 4; ++i)
    pool.emplace_back([&, i] { took[i] = timed([&] { codes[i] = post_single(order()).code(); }); });
  for (auto& t : pool) t.join();
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(codes[i], 106) << i;
    EXPECT_LT(took[i], 3s) << i;  // redis.read_timeout is 1 s in the test config
  }
  // /healthz answers promptly while Redis is frozen, whatever it says.
  http_reply h;
  EXPECT_LT(timed([&] { h = healthz(); }), 3s);
  EXPECT_TRUE(h.status == 200 || h.status == 503) << h.status;

  redis.resume();
  ASSERT_TRUE(test::wait_until([&] { return healthy() && post_single(order()).code() == 0; }, 10s))
      << dmq->log();
  auto id = saved(order("thawed"));
  EXPECT_EQ(hget(msg_key(id), "bucket"), "thawed");
}

}  // namespace
}  // namespace dmq::e2e
