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
  redis.start();  // empty: no persistence in tests
  ASSERT_TRUE(test::wait_until([&] { return ready_for_messages(port); }, 10s)) << dmq->log();
  auto t0 = now_ms();
  std::vector<std::uint64_t> after;
  for (int i = 0; i < 5; ++i) after.push_back(post(message("{\"after\":" + std::to_string(i) + "}")));
  for (auto id : after) {
    EXPECT_TRUE(endpoint.wait_until(
        [&](const std::vector<consumer_request>& rs) {
          int n = 0;
          for (const auto& r : rs) n += r.msg_id == id && r.answered_ms > 0;
          return n >= 2;
        },
        10s))
        << id << "\n" << dmq->log();
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
  ASSERT_TRUE(endpoint.wait_for_distinct("/dgfa/", 1, 3s));  // in flight now
  auto t0 = now_ms();
  dmq->signal(SIGTERM);
  EXPECT_EQ(dmq->wait_exit(5000), 0) << dmq->log();
  auto took = now_ms() - t0;
  EXPECT_LT(took, 2000) << "it waited for more than the delivery";
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

TEST_F(delivery_shutdown_deadline_test, a_delivery_outlasting_the_deadline_is_released_for_the_next) {
  endpoint.when_path("/dgfa/", answer::slow(3000).first(1));
  auto id = post(message());
  ASSERT_TRUE(endpoint.wait_for_distinct("/dgfa/", 1, 3s));
  auto t0 = now_ms();
  dmq->signal(SIGTERM);
  EXPECT_EQ(dmq->wait_exit(5000), 0) << dmq->log();
  EXPECT_LT(now_ms() - t0, 1500) << "shutdown_timeout_ms is 300";
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
      3s))
      << describe(endpoint.requests());
  auto rs = endpoint.for_id(id, "/dgfa/");
  ASSERT_EQ(rs.size(), 2u) << describe(rs);
  EXPECT_EQ(rs[1].retry, 0);
  EXPECT_EQ(rs[1].header("X-Dmq-Attempt"), "1");
  EXPECT_TRUE(test::wait_until([&] { return redis_status(id, "dgfa") == "done"; }, 3s));
}

// The seed's own config dir, with its hosts and ports moved to this test's.
struct delivery_seed_config_test : delivery_test {
  void configure() override { start_run = false; }

  std::string seed_dir() {
    namespace fs = std::filesystem;
    auto d = fs::temp_directory_path() / ("dmq-seed-" + std::to_string(::getpid()) + "-" +
                                          std::to_string(port));
    fs::remove_all(d);
    fs::copy(fs::path(DMQ_SOURCE_DIR) / "tests/fixtures/seed-config", d,
             fs::copy_options::recursive);
    dirs.push_back(d.string());
    auto edit = [](const fs::path& f, const std::vector<std::pair<std::string, std::string>>& subs) {
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
    edit(d / "commands/cmd-sds-create-order.yaml",
         {{"127.0.0.1:8959", "127.0.0.1:" + std::to_string(endpoint.port())}});
    return d.string();
  }
};

TEST_F(delivery_seed_config_test, both_consumers_receive_with_the_seeds_retry_settings) {
  dmq = start_dmq(seed_dir(), port, "run");
  ASSERT_TRUE(dmq->running());
  const std::string path = "/api/mytest/test/createorder";

  auto ok = post(message(R"({"order_id":"ok"})"));
  ASSERT_TRUE(endpoint.wait_for_count(2, 3s)) << dmq->log();
  auto rs = endpoint.for_id(ok);
  ASSERT_EQ(rs.size(), 2u) << "dgfa and fghyds, once each\n" << describe(rs);
  for (const auto& r : rs) EXPECT_EQ(r.target, path + "?msg_id=" + std::to_string(ok) + "&retry=0");
  EXPECT_TRUE(wait_status(ok, "dgfa", "done"));
  EXPECT_TRUE(wait_status(ok, "fghyds", "done"));

  // Always failing: dgfa (retry_times 3, interval 500) tries at 0, 500, 1500, 3000 ms;
  // fghyds (retry_times 2, interval 300) at 0, 300, 900 ms.
  endpoint.when_body("always-fails", answer::with_status(500));
  auto bad = post(message(R"({"order_id":"always-fails"})"));
  ASSERT_TRUE(wait_status(bad, "dgfa", "failure", 6s)) << describe(endpoint.for_id(bad));
  ASSERT_TRUE(wait_status(bad, "fghyds", "failure", 1s)) << describe(endpoint.for_id(bad));
  rs = endpoint.for_id(bad);
  ASSERT_EQ(rs.size(), 7u) << describe(rs);
  auto start = std::min(rs[0].arrived_ms, rs[1].arrived_ms);
  std::map<int, std::vector<std::int64_t>> at;  // retry -> arrival offsets, in order
  for (const auto& r : rs) at[r.retry].push_back(r.arrived_ms - start);
  auto near = [](std::int64_t got, std::int64_t want) { return got >= want - 5 && got <= want + 100; };
  ASSERT_EQ(at[0].size(), 2u) << describe(rs);
  ASSERT_EQ(at[1].size(), 2u) << describe(rs);
  ASSERT_EQ(at[2].size(), 2u) << describe(rs);
  ASSERT_EQ(at[3].size(), 1u) << describe(rs);
  EXPECT_TRUE(near(at[1][0], 300) && near(at[1][1], 500)) << describe(rs);
  EXPECT_TRUE(near(at[2][0], 900) && near(at[2][1], 1500)) << describe(rs);
  EXPECT_TRUE(near(at[3][0], 3000)) << describe(rs);
  EXPECT_TRUE(in_pending(bad, "dgfa"));
  EXPECT_TRUE(in_pending(bad, "fghyds"));
  EXPECT_TRUE(dmq->running()) << dmq->log();
}

}  // namespace
}  // namespace dmq::e2e
