// The store's side of the operators' features (issue 14): pause and resume, the attempt
// history that ack-2 keeps, dispatcher reports and the events stream, on a real Redis.
#include <boost/json/parse.hpp>

#include "storage/browse.h"
#include "storage/operate.h"
#include "store_fixture.h"

namespace dmq::test {
namespace {

namespace json = boost::json;

// entry is an attempt history entry as the dispatcher writes it (dispatch/attempt_entry.h).
std::string entry(int attempt, const std::string& outcome, int status = 503) {
  return R"({"attempt":)" + std::to_string(attempt) +
         R"(,"start_ms":1,"duration_ms":2,"outcome":")" + outcome + R"(","http_status":)" +
         std::to_string(status) + R"(,"error":"http","answer":"busy\nnow","dispatcher":"h:1"})";
}

// The operators' reads and writes (browse.h, operate.h) over the fixture's store.
struct operator_store_test : store_test {
  storage::browse browse{store};
  storage::operate operate{store};

  // history returns a consumer's attempt history of message id (browse::message).
  std::vector<std::string> history(std::uint64_t id, const std::string& consumer) {
    auto [ec, v] = run(browse.message("sds", id));
    EXPECT_FALSE(ec) << ec.message();
    if (!v) return {};
    for (const auto& c : v->consumers)
      if (c.consumer == consumer) return c.history;
    return {};
  }
};

TEST_F(operator_store_test, a_paused_consumer_is_claimed_nothing_until_resumed) {
  save({msg(8001, "sds", storage::now_ms() - 10)});
  auto [ec, since] = run(operate.pause("sds", "dgfa", 12345));
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(since, 12345);
  // Resuming wakes the dispatchers ("<consumer> 0"), so deliveries restart at once. A
  // subscriber as they have:
  std::vector<std::string> wakes;
  redis::connection sub{ioc.get_executor(), options(redis.port())};
  sub.set_push_handler([&](const redis::reply& m) { wakes.push_back(m.elements.at(2).str); });
  sub.set_on_connect([&](redis::connection& c) -> asio::awaitable<std::error_code> {
    redis::command cmd;
    cmd.push("SUBSCRIBE", keys.wake_channel("sds"));
    co_return (co_await c.exec(cmd)).first;
  });
  sub.start();
  ASSERT_TRUE(run(sub.wait_ready(5s)));
  // Pausing again keeps the first time; a pause wakes the dispatchers too (so they see it
  // at once).
  EXPECT_EQ(run(operate.pause("sds", "dgfa", 99999)).second, 12345);
  run_until([&] { return !wakes.empty(); });
  EXPECT_EQ(wakes, (std::vector<std::string>{"dgfa 0"}));
  wakes.clear();
  auto [ec2, list] = run(browse.paused("sds"));
  ASSERT_FALSE(ec2);
  EXPECT_EQ(list, (std::vector<std::pair<std::string, std::int64_t>>{{"dgfa", 12345}}));

  auto [ec3, b] = run(store.claim("sds", "dgfa", storage::now_ms(), 10000, 10));
  ASSERT_FALSE(ec3);
  EXPECT_TRUE(b.paused);
  EXPECT_TRUE(b.items.empty());
  EXPECT_EQ(status_of(8001, "dgfa"), "waiting");
  // The other consumer of the message is not paused.
  auto [ec4, other] = run(store.claim("sds", "fghyds", storage::now_ms(), 10000, 10));
  EXPECT_FALSE(other.paused);
  EXPECT_EQ(other.items.size(), 1u);

  auto [ec5, was] = run(operate.resume("sds", "dgfa"));
  ASSERT_FALSE(ec5);
  EXPECT_TRUE(was);
  run_until([&] { return !wakes.empty(); });
  EXPECT_EQ(wakes, (std::vector<std::string>{"dgfa 0"}));
  sub.stop();
  EXPECT_FALSE(run(operate.resume("sds", "dgfa")).second);
  EXPECT_TRUE(run(browse.paused("sds")).second.empty());
  auto [ec6, b2] = run(store.claim("sds", "dgfa", storage::now_ms(), 10000, 10));
  EXPECT_FALSE(b2.paused);
  ASSERT_EQ(b2.items.size(), 1u);
  EXPECT_EQ(b2.items[0].id, 8001u);
}

TEST_F(operator_store_test, ack_keeps_the_last_n_attempts_expiring_with_the_record) {
  save({msg(8101, "sds", storage::now_ms() - 10)});
  for (int attempt = 1; attempt <= 4; ++attempt) {
    auto [ec, b] = run(store.claim("sds", "dgfa", storage::now_ms() + attempt * 100000, 10000, 10));
    ASSERT_FALSE(ec);
    ASSERT_EQ(b.items.size(), 1u);
    EXPECT_EQ(b.items[0].attempt, attempt);
    auto what = attempt < 4 ? storage::outcome::retry : storage::outcome::failure;
    auto [ec2, ok] = run(store.ack("sds", "dgfa", 8101, b.lease_until, what,
                                   storage::now_ms() + attempt * 100000 + 1, 1, nullptr,
                                   entry(attempt, attempt < 4 ? "retry" : "failure"), 3));
    ASSERT_FALSE(ec2);
    EXPECT_TRUE(ok);
  }
  auto h = history(8101, "dgfa");
  ASSERT_EQ(h.size(), 3u);  // the last 3 of 4, oldest first
  for (int i = 0; i < 3; ++i) {
    auto v = json::parse(h[i]);
    EXPECT_EQ(v.at("attempt").as_int64(), i + 2) << h[i];
    EXPECT_EQ(v.at("answer").as_string(), "busy\nnow");  // an escaped newline survives
  }
  EXPECT_EQ(json::parse(h[2]).at("outcome").as_string(), "failure");
  // Nothing for the other consumer.
  EXPECT_TRUE(history(8101, "fghyds").empty());
  EXPECT_EQ(redis.cmd({"HLEN", keys.attempts("sds", 8101)}).integer, 1);
  // The history expires exactly with the record.
  auto rec_at = redis.cmd({"PEXPIRETIME", keys.message("sds", 8101)}).integer;
  EXPECT_GT(rec_at, storage::now_ms());
  EXPECT_EQ(redis.cmd({"PEXPIRETIME", keys.attempts("sds", 8101)}).integer, rec_at);
}

TEST_F(operator_store_test, no_entry_writes_nothing_and_a_lost_lease_or_record_writes_nothing) {
  save({msg(8201, "sds", storage::now_ms() - 10), msg(8202, "sds", storage::now_ms() - 10)});
  auto [ec, b] = run(store.claim("sds", "dgfa", storage::now_ms(), 10000, 10));
  ASSERT_EQ(b.items.size(), 2u);
  // A first-try success passes no entry.
  run(store.ack("sds", "dgfa", 8201, b.lease_until, storage::outcome::done, 0, 0, nullptr, "", 5));
  EXPECT_EQ(redis.cmd({"EXISTS", keys.attempts("sds", 8201)}).integer, 0);
  // A lease that is no longer ours records nothing, history included.
  auto [ec2, ok] = run(store.ack("sds", "dgfa", 8202, b.lease_until + 1, storage::outcome::retry,
                                 storage::now_ms(), 0, nullptr, entry(1, "retry"), 5));
  EXPECT_FALSE(ok);
  EXPECT_EQ(redis.cmd({"EXISTS", keys.attempts("sds", 8202)}).integer, 0);
  // A record that expired meanwhile gets no history (it would outlive it).
  redis.cmd({"DEL", keys.message("sds", 8202)});
  run(store.ack("sds", "dgfa", 8202, b.lease_until, storage::outcome::retry, storage::now_ms(), 0,
                nullptr, entry(1, "retry"), 5));
  EXPECT_EQ(redis.cmd({"EXISTS", keys.attempts("sds", 8202)}).integer, 0);
}

TEST_F(operator_store_test, reports_are_listed_while_fresh_and_removed_on_unreport) {
  auto now = storage::now_ms();
  ASSERT_FALSE(run(store.report("h:1", R"({"id":"h:1"})", now, 10000)));
  ASSERT_FALSE(run(store.report("h:2", R"({"id":"h:2"})", now - 20000, 10000)));
  EXPECT_GT(redis.cmd({"PTTL", keys.dispatcher("h:1")}).integer, 9000);
  auto [ec, reports] = run(browse.reports(now - 10000));
  ASSERT_FALSE(ec);
  EXPECT_EQ(reports, (std::vector<std::string>{R"({"id":"h:1"})"}));
  // The next report drops the member that stopped reporting.
  ASSERT_FALSE(run(store.report("h:1", R"({"id":"h:1"})", now, 10000)));
  EXPECT_EQ(redis.cmd({"ZCARD", keys.dispatchers()}).integer, 1);
  ASSERT_FALSE(run(store.unreport("h:1")));
  EXPECT_EQ(redis.cmd({"EXISTS", keys.dispatcher("h:1")}).integer, 0);
  EXPECT_EQ(redis.cmd({"ZCARD", keys.dispatchers()}).integer, 0);
}

TEST_F(operator_store_test, events_are_appended_to_a_capped_stream) {
  EXPECT_FALSE(run(store.tailing()).second);
  redis.cmd({"SET", keys.tail(), "1", "PX", "15000"});
  EXPECT_TRUE(run(store.tailing()).second);
  std::vector<storage::store::delivery_event> ev{{1, "sds", "dgfa", 42, 2, "retry", 503, "http", 7},
                                                 {2, "sds", "fghyds", 43, 1, "done", 200, "", 3}};
  ASSERT_FALSE(run(store.add_events(ev)));
  auto r = redis.cmd({"XRANGE", keys.events(), "-", "+"});
  ASSERT_EQ(r.elements.size(), 2u);
  std::map<std::string, std::string> f;
  const auto& fields = r.elements[0].elements[1].elements;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) f[fields[i].str] = fields[i + 1].str;
  EXPECT_EQ(f, (std::map<std::string, std::string>{{"t", "1"},
                                                   {"project", "sds"},
                                                   {"consumer", "dgfa"},
                                                   {"id", "42"},
                                                   {"attempt", "2"},
                                                   {"outcome", "retry"},
                                                   {"http_status", "503"},
                                                   {"error", "http"},
                                                   {"duration_ms", "7"}}));
}

}  // namespace
}  // namespace dmq::test
