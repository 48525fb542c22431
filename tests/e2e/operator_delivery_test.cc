// The dispatcher's side of the operators' features (issue 14), end to end: `dmq run`
// delivering to a real HTTP consumer, read back through the store's read functions (as
// the API's endpoints do) and Redis: the attempt history, pause and resume, the
// dispatchers' reports and the events stream for tail.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <cmath>
#include <future>

#include "delivery_fixture.h"
#include "storage/browse.h"
#include "storage/operate.h"
#include "storage/store.h"

namespace dmq::e2e {
namespace {

namespace asio = boost::asio;

// store_client: the store as dmq's API uses it, on its own io_context in the test's thread.
struct store_client {
  explicit store_client(int redis_port) : conn(ioc.get_executor(), options(redis_port)) {
    conn.set_on_connect([this](redis::connection& c) { return store.on_connect(c); });
    conn.start();
    EXPECT_TRUE(run(conn.wait_ready(5s)));
  }
  ~store_client() { conn.stop(); }

  static redis::options options(int port) {
    redis::options o;
    o.port = port;
    o.request_timeout_ms = 1000;
    return o;
  }
  // run drives the io_context until a completes (bounded) and returns its value.
  template <class T>
  T run(asio::awaitable<T> a, std::chrono::milliseconds bound = 10s) {
    auto f = asio::co_spawn(ioc, std::move(a), asio::use_future);
    auto until = std::chrono::steady_clock::now() + bound;
    while (f.wait_for(0s) != std::future_status::ready) {
      if (std::chrono::steady_clock::now() > until) throw std::runtime_error("run: timed out");
      ioc.run_for(5ms);
    }
    return f.get();
  }

  asio::io_context ioc;
  storage::keys keys;  // dmq's prefix
  storage::script_set scripts;
  redis::connection conn;
  storage::store store{conn, keys, scripts, std::chrono::hours(24 * 4)};
  storage::browse browse{store};    // the API's reads
  storage::operate operate{store};  // and writes
};

// value returns a series' sample in a metrics page, NaN if absent.
double value(const std::string& page, const std::string& series) {
  auto at = page.find("\n" + series + " ");
  if (at == std::string::npos) return std::nan("");
  return std::stod(page.substr(at + series.size() + 2));
}

// No idle re-check within a test: what happens, happens on a wake-up or a timer of its own.
struct operator_delivery_test : delivery_test {
  void configure() override {
    dgfa.interval = fghyds.interval = 100;
    extra = "dispatch:\n  max_idle_ms: 600000\n";
  }
  // history returns a consumer's attempt history of message id, as the API reads it.
  std::vector<std::string> history(std::uint64_t id, const std::string& consumer) {
    auto [ec, v] = sc.run(sc.browse.message("sds", id));
    EXPECT_FALSE(ec) << ec.message();
    if (!v) return {};
    for (const auto& c : v->consumers)
      if (c.consumer == consumer) return c.history;
    return {};
  }
  std::string metrics() { return "\n" + test::call(port, "GET", "/metrics").body; }
  std::string host_pid() const {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    return std::string(host) + ":" + std::to_string(dmq->pid());
  }

  store_client sc{redis.port()};
};

TEST_F(operator_delivery_test, history_keeps_each_failed_attempt_and_the_success_after_it) {
  endpoint.when_path("/dgfa/", answer::with_status(503).first(1));
  auto id = post(message());
  ASSERT_TRUE(wait_status(id, "dgfa", "done"));
  ASSERT_TRUE(wait_status(id, "fghyds", "done"));
  auto h = history(id, "dgfa");
  ASSERT_EQ(h.size(), 2u);
  auto first = json::parse(h[0]).as_object(), second = json::parse(h[1]).as_object();
  EXPECT_EQ(first.at("attempt"), 1);
  EXPECT_EQ(first.at("outcome"), "retry");
  EXPECT_EQ(first.at("http_status"), 503);
  EXPECT_EQ(first.at("error"), "http");
  EXPECT_EQ(first.at("answer"), "scripted failure");
  EXPECT_EQ(first.at("dispatcher"), json::value(host_pid()));
  auto rs = endpoint.for_id(id, "/dgfa/");
  ASSERT_EQ(rs.size(), 2u);
  // Started (Redis's clock, one machine here) before the consumer read it, after it was due.
  auto due = std::stoll(rs[0].header("X-Dmq-Scheduled-At"));
  EXPECT_GE(first.at("start_ms").as_int64(), due);
  EXPECT_LE(first.at("start_ms").as_int64(), rs[0].arrived_ms + 50);
  EXPECT_GE(first.at("duration_ms").as_int64(), 0);
  EXPECT_EQ(second.at("attempt"), 2);
  EXPECT_EQ(second.at("outcome"), "done");
  EXPECT_EQ(second.at("http_status"), 200);
  EXPECT_EQ(second.at("error"), "");
  EXPECT_EQ(second.at("answer"), "ok");
  EXPECT_GE(second.at("start_ms").as_int64(), first.at("start_ms").as_int64() + 100);
  // fghyds succeeded at once: nothing kept for it, and the history expires with the record.
  EXPECT_TRUE(history(id, "fghyds").empty());
  auto akey = sc.keys.attempts("sds", id);
  EXPECT_EQ(redis.cmd({"HLEN", akey}).integer, 1);
  EXPECT_EQ(redis.cmd({"PEXPIRETIME", akey}).integer,
            redis.cmd({"PEXPIRETIME", sc.keys.message("sds", id)}).integer);
}

TEST_F(operator_delivery_test, a_first_try_success_writes_no_history_key) {
  auto id = post(message());
  ASSERT_TRUE(wait_status(id, "dgfa", "done"));
  ASSERT_TRUE(wait_status(id, "fghyds", "done"));
  EXPECT_EQ(redis.cmd({"EXISTS", sc.keys.attempts("sds", id)}).integer, 0);
}

TEST_F(operator_delivery_test,
       pause_holds_new_deliveries_lets_the_one_in_flight_finish_resume_is_prompt) {
  endpoint.when_path("/dgfa/", answer::slow(1500), "\"n\":1");
  auto first = post(message(R"({"n":1})"));
  ASSERT_TRUE(endpoint.wait_until(
      [&](const auto& rs) {
        return std::any_of(rs.begin(), rs.end(), [&](const auto& r) {
          return r.msg_id == first && r.path == "/dgfa/createorder";
        });
      },
      5s));
  // In flight at dgfa: pause it.
  auto [ec, since] = sc.run(sc.operate.pause("sds", "dgfa", now_ms()));
  ASSERT_FALSE(ec) << ec.message();
  auto second = post(message(R"({"n":2})"));
  ASSERT_TRUE(wait_status(second, "fghyds", "done"));
  // The delivery in flight finishes; the paused consumer gets nothing new.
  ASSERT_TRUE(wait_status(first, "dgfa", "done", 5s));
  EXPECT_FALSE(endpoint.wait_until(
      [&](const auto& rs) {
        return std::any_of(rs.begin(), rs.end(), [&](const auto& r) {
          return r.msg_id == second && r.path == "/dgfa/createorder";
        });
      },
      1500ms))
      << describe(endpoint.requests());
  EXPECT_EQ(status(second, "dgfa"), "waiting");
  EXPECT_TRUE(test::wait_until(
      [&] {
        return value(metrics(), R"(dmq_consumer_paused{project="sds",consumer="dgfa"})") == 1;
      },
      3s))
      << metrics();
  EXPECT_EQ(value(metrics(), R"(dmq_consumer_paused{project="sds",consumer="fghyds"})"), 0);
  // Resume: delivered at once (the wake-up), not after max_idle_ms (10 min here).
  auto resumed = now_ms();
  ASSERT_TRUE(sc.run(sc.operate.resume("sds", "dgfa")).second);
  ASSERT_TRUE(wait_status(second, "dgfa", "done", 3s));
  auto rs = endpoint.for_id(second, "/dgfa/");
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_LT(rs[0].arrived_ms - resumed, 1000);
  EXPECT_TRUE(test::wait_until(
      [&] {
        return value(metrics(), R"(dmq_consumer_paused{project="sds",consumer="dgfa"})") == 0;
      },
      3s));
}

TEST_F(operator_delivery_test, a_pause_shows_in_the_gauge_at_once_on_an_idle_dispatcher) {
  // Nothing queued, max_idle_ms 10 min: only pause's wake-up makes the dispatcher look.
  ASSERT_TRUE(test::wait_until(
      [&] {
        return value(metrics(), R"(dmq_consumer_paused{project="sds",consumer="dgfa"})") == 0;
      },
      5s))
      << metrics();
  auto [ec, since] = sc.run(sc.operate.pause("sds", "dgfa", now_ms()));
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(test::wait_until(
      [&] {
        return value(metrics(), R"(dmq_consumer_paused{project="sds",consumer="dgfa"})") == 1;
      },
      3s))
      << metrics();
}

TEST_F(operator_delivery_test, the_dispatcher_reports_its_last_minute_and_removes_it_on_stop) {
  endpoint.when_path("/dgfa/", answer::with_status(500).first(1));
  auto a = post(message(R"({"n":1})")), b = post(message(R"({"n":2})"));
  for (auto id : {a, b})
    for (auto c : {"dgfa", "fghyds"}) ASSERT_TRUE(wait_status(id, c, "done")) << c;
  auto key = sc.keys.dispatcher(host_pid());
  json::object report;
  // Reports come every 2 s: within 5 s one shows every attempt.
  EXPECT_TRUE(test::wait_until(
      [&] {
        auto r = redis.cmd({"GET", key});
        if (r.is_nil()) return false;
        report = json::parse(r.str).as_object();
        return report.at("consumers").at("dgfa").at("delivered_60s") == 2;
      },
      5s))
      << json::serialize(report);
  EXPECT_EQ(report.at("id"), json::value(host_pid()));
  EXPECT_GT(redis.cmd({"PTTL", key}).integer, 5000);
  EXPECT_TRUE(redis.cmd({"ZSCORE", sc.keys.dispatchers(), host_pid()}).as_int());
  const auto& dgfa_r = report.at("consumers").at("dgfa").as_object();
  EXPECT_EQ(dgfa_r.at("project"), "sds");
  EXPECT_EQ(dgfa_r.at("failed_60s"), 2);  // each message's first attempt
  EXPECT_EQ(dgfa_r.at("in_flight"), 0);
  const auto& fg = report.at("consumers").at("fghyds").as_object();
  EXPECT_EQ(fg.at("delivered_60s"), 2);
  EXPECT_EQ(fg.at("failed_60s"), 0);
  // Lateness of the first attempts: one count per message, in some bucket.
  std::int64_t n = 0;
  for (const auto& x : fg.at("lateness_buckets").as_array()) n += x.as_int64();
  EXPECT_EQ(n, 2);
  EXPECT_EQ(fg.at("lateness_buckets").as_array().size(),
            fg.at("lateness_edges_ms").as_array().size() + 1);
  auto reports = sc.run(sc.browse.reports(now_ms() - 10000)).second;
  EXPECT_EQ(reports.size(), 1u);

  // A clean stop removes its report at once.
  EXPECT_EQ(dmq->stop(), 0) << dmq->log();
  EXPECT_EQ(redis.cmd({"EXISTS", key}).integer, 0);
  EXPECT_FALSE(redis.cmd({"ZSCORE", sc.keys.dispatchers(), host_pid()}).as_int());
  expect_alive = false;
}

TEST_F(operator_delivery_test, outcomes_go_to_the_events_stream_only_while_someone_tails) {
  auto quiet = post(message(R"({"n":0})"));
  ASSERT_TRUE(wait_status(quiet, "dgfa", "done"));
  ASSERT_TRUE(wait_status(quiet, "fghyds", "done"));
  EXPECT_FALSE(test::wait_until(
      [&] {
        return redis.cmd({"EXISTS", sc.keys.events()}).integer == 1;
      },
      1500ms))
      << "nobody tails: no events";

  redis.cmd({"SET", sc.keys.tail(), "1", "PX", "15000"});
  endpoint.when_path("/dgfa/", answer::with_status(502).first(1));
  // The dispatchers look for the tail key once a second: messages until one is seen.
  std::uint64_t id = 0;
  for (int i = 1; i <= 10 && redis.cmd({"XLEN", sc.keys.events()}).integer == 0; ++i) {
    id = post(message("{\"n\":" + std::to_string(i) + "}"));
    ASSERT_TRUE(wait_status(id, "dgfa", "done"));
    ASSERT_TRUE(wait_status(id, "fghyds", "done"));
    test::wait_until([&] { return redis.cmd({"XLEN", sc.keys.events()}).integer >= 3; }, 500ms);
  }
  auto r = redis.cmd({"XRANGE", sc.keys.events(), "-", "+"});
  std::vector<std::map<std::string, std::string>> mine;
  for (const auto& e : r.elements) {
    std::map<std::string, std::string> f;
    const auto& kv = e.elements[1].elements;
    for (std::size_t i = 0; i + 1 < kv.size(); i += 2) f[kv[i].str] = kv[i + 1].str;
    EXPECT_NE(f["id"], std::to_string(quiet)) << "written while nobody tailed";
    if (f["id"] == std::to_string(id) && f["consumer"] == "dgfa") mine.push_back(f);
  }
  ASSERT_EQ(mine.size(), 2u) << "the failed attempt and the retry that succeeded";
  EXPECT_EQ(mine[0]["outcome"], "retry");
  EXPECT_EQ(mine[0]["http_status"], "502");
  EXPECT_EQ(mine[0]["error"], "http");
  EXPECT_EQ(mine[0]["attempt"], "1");
  EXPECT_EQ(mine[0]["project"], "sds");
  EXPECT_EQ(mine[1]["outcome"], "done");
  EXPECT_EQ(mine[1]["attempt"], "2");
  EXPECT_EQ(mine[1]["error"], "");
  EXPECT_GE(std::stoll(mine[1]["t"]), std::stoll(mine[0]["t"]));
  EXPECT_GE(std::stoll(mine[1]["duration_ms"]), 0);
}

// dispatch.attempt_history: 2 keeps the last two attempts.
struct short_history_test : operator_delivery_test {
  void configure() override {
    operator_delivery_test::configure();
    extra += "  attempt_history: 2\n  attempt_answer_bytes: 4\n";
  }
};

TEST_F(short_history_test, only_the_last_n_attempts_are_kept_with_answers_cut) {
  endpoint.when_path("/dgfa/", answer::with_status(500));
  auto id = post(message());
  ASSERT_TRUE(wait_status(id, "dgfa", "failure"));
  EXPECT_EQ(endpoint.for_id(id, "/dgfa/").size(), 4u);
  auto h = history(id, "dgfa");
  ASSERT_EQ(h.size(), 2u);
  auto third = json::parse(h[0]).as_object(), last = json::parse(h[1]).as_object();
  EXPECT_EQ(third.at("attempt"), 3);
  EXPECT_EQ(third.at("outcome"), "retry");
  EXPECT_EQ(last.at("attempt"), 4);
  EXPECT_EQ(last.at("outcome"), "failure");
  EXPECT_EQ(last.at("answer"), "scri");
}

// dispatch.attempt_history: 0 turns the history off.
struct no_history_test : operator_delivery_test {
  void configure() override {
    operator_delivery_test::configure();
    extra += "  attempt_history: 0\n";
  }
};

TEST_F(no_history_test, failures_write_no_history_when_it_is_off) {
  endpoint.when_path("/dgfa/", answer::with_status(500).first(2));
  auto id = post(message());
  ASSERT_TRUE(wait_status(id, "dgfa", "done"));
  EXPECT_EQ(endpoint.for_id(id, "/dgfa/").size(), 3u);
  EXPECT_EQ(redis.cmd({"EXISTS", sc.keys.attempts("sds", id)}).integer, 0);
}

}  // namespace
}  // namespace dmq::e2e
