// delivery_lifecycle_test: the dispatcher across a Redis restart and a SIGTERM, and the
// seed's own configuration (ported to loopback) delivering with its retry settings.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "delivery_fixture.h"

namespace dmq::e2e {
namespace {

struct delivery_redis_restart_test : delivery_test {
  void configure() override { dgfa.more = {{"concurrency", "2"}}; }
};

TEST_F(delivery_redis_restart_test, the_dispatcher_reconnects_and_delivers_messages_saved_after) {
  endpoint.when_path("/dgfa/", answer::slow(200), "before");
  for (int i = 0; i < 20; ++i) post(message("{\"before\":" + std::to_string(i) + "}"));
  ASSERT_TRUE(endpoint.wait_for_distinct("/dgfa/", 3, 5s));  // mid-drain: dgfa is busy
  redis.stop();
  // dmq has seen Redis go (or a /healthz from before could pass for one after the restart).
  ASSERT_TRUE(test::wait_until([&] { return !ready_for_messages(port); }, 10s)) << dmq->log();
  redis.start();  // empty: no persistence in tests
  ASSERT_TRUE(test::wait_until([&] { return ready_for_messages(port); }, 10s)) << dmq->log();
  auto t0 = now_ms();
  std::vector<std::uint64_t> after;
  for (int i = 0; i < 5; ++i)
    after.push_back(post(message("{\"after\":" + std::to_string(i) + "}")));
  for (auto id : after) {
    EXPECT_TRUE(endpoint.wait_until(
        [&](const std::vector<consumer_request>& rs) {
          int n = 0;
          for (const auto& r : rs) n += r.msg_id == id && r.answered_ms > 0;
          return n >= 2;
        },
        10s))
        << id << "\n"
        << dmq->log();
    EXPECT_TRUE(wait_status(id, "dgfa", "done")) << id << ": " << status(id, "dgfa");
    EXPECT_TRUE(wait_status(id, "fghyds", "done")) << id << ": " << status(id, "fghyds");
  }
  std::cout << "[ delivery ] messages saved after the restart delivered within " << now_ms() - t0
            << " ms\n";
  EXPECT_TRUE(dmq->running()) << dmq->log();
}

using delivery_shutdown_test = delivery_test;

TEST_F(delivery_shutdown_test, sigterm_lets_a_delivery_in_flight_finish_then_exits_0) {
  endpoint.when_path("/dgfa/", answer::slow(500));
  auto id = post(message());
  ASSERT_TRUE(endpoint.wait_for_distinct("/dgfa/", 1, 3s));    // in flight now
  ASSERT_TRUE(endpoint.wait_for_distinct("/fghyds/", 1, 3s));  // claimed (done, or in flight)
  auto t0 = now_ms();
  dmq->signal(SIGTERM);
  EXPECT_EQ(dmq->wait_exit(10000), 0) << dmq->log();
  auto took = now_ms() - t0;
  // dispatch.shutdown_timeout_ms is 10 s: well under it, it waited for the delivery only.
  EXPECT_LT(took, 5000) << "it waited for more than the delivery";
  auto rs = endpoint.for_id(id, "/dgfa/");
  ASSERT_EQ(rs.size(), 1u) << describe(rs);
  EXPECT_EQ(rs[0].status, 200);
  EXPECT_EQ(redis_status(id, "dgfa"), "done") << dmq->log();
  EXPECT_EQ(redis_status(id, "fghyds"), "done");
  EXPECT_EQ(redis.cmd({"ZCARD", "dmq:{sds}:q:dgfa"}).integer, 0);
  expect_alive = false;
}

struct delivery_shutdown_deadline_test : delivery_test {
  void configure() override {
    dgfa.timeout = 5000;
    extra = "dispatch:\n  shutdown_timeout_ms: 300\n";
  }
};

TEST_F(delivery_shutdown_deadline_test,
       a_delivery_outlasting_the_deadline_is_released_for_the_next) {
  endpoint.when_path("/dgfa/", answer::slow(3000).first(1));
  auto id = post(message());
  ASSERT_TRUE(endpoint.wait_for_distinct("/dgfa/", 1, 3s));
  auto t0 = now_ms();
  dmq->signal(SIGTERM);
  EXPECT_EQ(dmq->wait_exit(5000), 0) << dmq->log();
  // Not waiting for the delivery, answered 3 s after it arrived.
  EXPECT_LT(now_ms() - t0, 2000) << "shutdown_timeout_ms is 300";
  // Released: due again now, its attempt given back.
  auto score = redis.cmd({"ZSCORE", "dmq:{sds}:q:dgfa", std::to_string(id)});
  ASSERT_FALSE(score.is_nil()) << "released deliveries stay queued\n" << dmq->log();
  EXPECT_LE(std::stoll(score.str), now_ms());
  EXPECT_EQ(redis_status(id, "dgfa#n"), "0");
  expect_alive = false;

  // The next dispatcher delivers it at once, as the first attempt again.
  auto& next = start("run");
  (void)next;
  ASSERT_TRUE(endpoint.wait_until(
      [&](const std::vector<consumer_request>& rs) {
        int n = 0;
        for (const auto& r : rs) n += r.msg_id == id && r.path.starts_with("/dgfa/");
        return n >= 2;
      },
      5s))  // not held until the lease (timeout 5 s + lease_margin_ms 10 s) runs out
      << describe(endpoint.requests());
  auto rs = endpoint.for_id(id, "/dgfa/");
  ASSERT_EQ(rs.size(), 2u) << describe(rs);
  EXPECT_EQ(rs[1].retry, 0);
  EXPECT_EQ(rs[1].header("X-Dmq-Attempt"), "1");
  EXPECT_TRUE(test::wait_until([&] { return redis_status(id, "dgfa") == "done"; }, 10s));
}

// The seed's own config dir, with its hosts and ports moved to this test's: dgfa's to the
// fixture's endpoint, fghyds's to one of its own (the seed gives both the same path).
struct delivery_seed_config_test : delivery_test {
  void configure() override { start_run = false; }

  std::string seed_dir() {
    namespace fs = std::filesystem;
    auto d = fs::temp_directory_path() /
             ("dmq-seed-" + std::to_string(::getpid()) + "-" + std::to_string(port));
    fs::remove_all(d);
    fs::copy(fs::path(DMQ_SOURCE_DIR) / "tests/fixtures/seed-config", d,
             fs::copy_options::recursive);
    dirs.push_back(d.string());
    auto edit = [](const fs::path& f,
                   const std::vector<std::pair<std::string, std::string>>& subs) {
      std::ifstream in(f);
      std::stringstream ss;
      ss << in.rdbuf();
      auto text = ss.str();
      for (const auto& [from, to] : subs) {
        std::size_t at = 0, n = 0;
        while ((at = text.find(from, at)) != std::string::npos) {
          text.replace(at, from.size(), to);
          at += to.size();
          ++n;
        }
        EXPECT_GT(n, 0u) << f << ": " << from;
      }
      std::ofstream(f, std::ios::trunc) << text;
    };
    edit(d / "config.yaml", {{"http_port: 8989", "http_port: " + std::to_string(port) +
                                                     "\nhttp:\n  listen: 127.0.0.1"},
                             {"port: 6379", "port: " + std::to_string(redis.port())}});
    auto host = [](int p) { return "127.0.0.1:" + std::to_string(p); };
    edit(d / "commands/cmd-sds-create-order.yaml",
         {{"127.0.0.1:8959\n    name: dgfa", host(endpoint.port()) + "\n    name: dgfa"},
          {"127.0.0.1:8959\n    name: fghyds",
           host(fghyds_endpoint.port()) + "\n    name: fghyds"}});
    return d.string();
  }

  void TearDown() override {
    delivery_test::TearDown();
    fghyds_endpoint.stop();
  }

  test::consumer_endpoint fghyds_endpoint;
};

TEST_F(delivery_seed_config_test, both_consumers_receive_with_the_seeds_retry_settings) {
  dmq = start_dmq(seed_dir(), port, "run");
  ASSERT_TRUE(dmq->running());
  const std::string path = "/api/mytest/test/createorder";
  auto& dgfa_endpoint = endpoint;

  auto ok = post(message(R"({"order_id":"ok"})"));
  ASSERT_TRUE(dgfa_endpoint.wait_for_count(1, 3s)) << dmq->log();
  ASSERT_TRUE(fghyds_endpoint.wait_for_count(1, 3s)) << dmq->log();
  EXPECT_TRUE(wait_status(ok, "dgfa", "done"));
  EXPECT_TRUE(wait_status(ok, "fghyds", "done"));
  for (auto* e : {&dgfa_endpoint, &fghyds_endpoint}) {
    auto rs = e->for_id(ok);
    ASSERT_EQ(rs.size(), 1u) << "dgfa and fghyds, once each\n" << describe(rs);
    EXPECT_EQ(rs[0].target, path + "?msg_id=" + std::to_string(ok) + "&retry=0");
  }

  // Always failing: dgfa (retry_times 3, interval 500) tries at 0, 500, 1500, 3000 ms;
  // fghyds (retry_times 2, interval 300) at 0, 300, 900 ms.
  dgfa_endpoint.when_body("always-fails", answer::with_status(500));
  fghyds_endpoint.when_body("always-fails", answer::with_status(500));
  auto bad = post(message(R"({"order_id":"always-fails"})"));
  ASSERT_TRUE(wait_status(bad, "dgfa", "failure", 10s)) << describe(dgfa_endpoint.for_id(bad));
  ASSERT_TRUE(wait_status(bad, "fghyds", "failure", 5s)) << describe(fghyds_endpoint.for_id(bad));
  auto d = dgfa_endpoint.for_id(bad);
  ASSERT_EQ(d.size(), 4u) << describe(d);
  expect_attempts(d);
  expect_gaps(d, {500, 1000, 1500});
  auto f = fghyds_endpoint.for_id(bad);
  ASSERT_EQ(f.size(), 3u) << describe(f);
  expect_attempts(f);
  expect_gaps(f, {300, 600});
  EXPECT_TRUE(in_pending(bad, "dgfa"));
  EXPECT_TRUE(in_pending(bad, "fghyds"));
  EXPECT_TRUE(dmq->running()) << dmq->log();
}

}  // namespace
}  // namespace dmq::e2e
