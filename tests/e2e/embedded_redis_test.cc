// embedded_redis_test: several dmq processes on one config with `redis.embedded: true`
// (app/embedded_redis.h, docs/operations.md). One owner runs redis-server and holds the
// lock on data_dir/dmq.lock; another process shares that server and never stops it (issue
// 12, 1.4: a second `dmq run` used to kill the first's Redis for good), runs it itself when
// the owner exits, and a server left by an owner killed with -9 is stopped, cleanly, by the
// next start.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "delivery_fixture.h"

namespace dmq::e2e {
namespace {

namespace fs = std::filesystem;

// embedded turns the redis: section of the config in dir into an embedded one.
void embedded(const std::string& dir, const std::string& more = "") {
  std::ifstream in(dir + "/config.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  auto yaml = ss.str();
  ASSERT_TRUE(replace_once(yaml, "redis:\n", "redis:\n  embedded: true\n" + more));
  std::ofstream(dir + "/config.yaml", std::ios::trunc) << yaml;
}

// redis_pid returns the pid of the embedded redis-server (data/redis/redis.pid), 0 if none.
pid_t redis_pid(const std::string& dir) {
  std::ifstream in(dir + "/data/redis/redis.pid");
  pid_t pid = 0;
  in >> pid;
  return pid;
}

// parent_of returns the parent pid of pid, from /proc, or 0.
pid_t parent_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  auto paren = line.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream rest(line.substr(paren + 2));
  char state = 0;
  pid_t ppid = 0;
  rest >> state >> ppid;
  return ppid;
}

std::uint64_t save(int port, const json::object& m) {
  auto r = test::call(port, "POST", "/api/message/single", text(m));
  EXPECT_EQ(r.code(), 0) << r.body;
  return id_of(r);
}

// later returns a message due in ten minutes: it stays "waiting" through the test.
json::object later() {
  auto m = order();
  m["delay_ms"] = 600000;
  return m;
}

std::string status_of(int port, std::uint64_t id, const std::string& consumer) {
  auto r = test::call(port, "GET",
                      "/api/message/status?msg_id=" + std::to_string(id) + "&consumer=" + consumer);
  return r.data().is_string() ? std::string(r.data().as_string()) : r.body;
}

class embedded_redis_test : public ::testing::Test {
 protected:
  void TearDown() override { test::remove_config_dir(dir); }

  int redis_port = test::free_port();  // the embedded server's
  int port = test::free_port();
  std::string dir;
};

TEST_F(embedded_redis_test, a_second_run_on_the_same_config_leaves_the_first_working) {
  dir = test::make_config_dir(redis_port, port);
  embedded(dir);
  auto first = start_dmq(dir, port, "run");
  auto before = save(port, later());
  pid_t server = redis_pid(dir);
  {
    test::dmq_process second(dir, port, "run", false);
    EXPECT_EQ(second.wait_exit(15000), 1) << second.log();  // the API port is the first's
    EXPECT_NE(second.log().find("is in use by dmq pid " + std::to_string(first->pid())),
              std::string::npos)
        << second.log();
  }
  EXPECT_EQ(redis_pid(dir), server);
  EXPECT_TRUE(test::wait_until([&] { return ready_for_messages(port); }, 5s)) << first->log();
  EXPECT_EQ(status_of(port, before, "dgfa"), "waiting");
  save(port, order());
  // The embedded server runs with the settings dmq's checks want.
  auto checks = test::call(port, "GET", "/healthz").data().at("redis_checks");
  EXPECT_EQ(checks.at("maxmemory_policy").as_string(), "noeviction") << text(checks);
  EXPECT_EQ(checks.at("appendonly").as_string(), "yes") << text(checks);
  EXPECT_EQ(first->stop(), 0) << first->log();
}

TEST_F(embedded_redis_test, client_and_server_on_one_config_deliver_and_outlive_each_other) {
  test::consumer_endpoint consumer;
  int status_port = test::free_port();
  consumer_conf dgfa{"dgfa", "/dgfa/createorder", "", default_timeout_ms, 3, 200, {}};
  dir = write_delivery_config(redis_port, port, consumer.port(), {dgfa},
                              "dispatch:\n  http_port: " + std::to_string(status_port) + "\n");
  embedded(dir);
  auto client = start_dmq(dir, port, "client");  // the owner: it starts redis-server
  pid_t server_pid = redis_pid(dir);
  auto server = std::make_unique<test::dmq_process>(dir, status_port, "server");  // shares it
  EXPECT_EQ(redis_pid(dir), server_pid);
  auto id = save(port, order());
  EXPECT_TRUE(consumer.wait_until(
      [&](const std::vector<consumer_request>& rs) {
        return std::any_of(rs.begin(), rs.end(), [&](const auto& r) { return r.msg_id == id; });
      },
      10s))
      << server->log();
  EXPECT_TRUE(test::wait_until([&] { return status_of(port, id, "dgfa") == "done"; }, 5s));
  EXPECT_EQ(server->stop(), 0) << server->log();
  // The sharer's exit left the owner's Redis running.
  EXPECT_TRUE(ready_for_messages(port)) << client->log();
  EXPECT_EQ(status_of(port, id, "dgfa"), "done");
  save(port, order());
  EXPECT_EQ(client->stop(), 0) << client->log();
}

TEST_F(embedded_redis_test, when_the_owner_exits_the_sharer_runs_the_server_itself) {
  int status_port = test::free_port();
  dir = test::make_config_dir(redis_port, port,
                              "dispatch:\n  http_port: " + std::to_string(status_port) + "\n");
  embedded(dir);
  auto owner = std::make_unique<test::dmq_process>(dir, status_port, "server");
  pid_t first_server = redis_pid(dir);
  auto sharer = start_dmq(dir, port, "client");
  EXPECT_EQ(redis_pid(dir), first_server) << sharer->log();
  EXPECT_NE(sharer->log().find("sharing its redis-server"), std::string::npos) << sharer->log();
  auto id = save(port, later());

  EXPECT_EQ(owner->stop(), 0) << owner->log();  // it stops its redis-server, then exits
  EXPECT_TRUE(test::wait_until([&] { return ready_for_messages(port); }, 10s)) << sharer->log();
  pid_t second_server = redis_pid(dir);
  EXPECT_NE(second_server, first_server);
  EXPECT_EQ(parent_of(second_server), sharer->pid()) << sharer->log();
  EXPECT_EQ(status_of(port, id, "dgfa"), "waiting");  // the data came along (AOF)
  save(port, order());
  EXPECT_EQ(sharer->stop(), 0) << sharer->log();
}

TEST_F(embedded_redis_test, a_server_that_dies_is_reaped_and_started_again) {
  dir = test::make_config_dir(redis_port, port);
  embedded(dir);
  auto owner = start_dmq(dir, port, "run");
  auto id = save(port, later());
  pid_t dead = redis_pid(dir);
  ASSERT_GT(dead, 0);
  ::kill(dead, SIGKILL);
  EXPECT_TRUE(test::wait_until([&] { return !fs::exists("/proc/" + std::to_string(dead)); }, 5s))
      << "the dead redis-server was not reaped (a zombie of dmq's)";
  EXPECT_TRUE(test::wait_until([&] { return ready_for_messages(port); }, 10s)) << owner->log();
  EXPECT_EQ(parent_of(redis_pid(dir)), owner->pid());
  EXPECT_EQ(status_of(port, id, "dgfa"), "waiting");  // from the AOF
  EXPECT_NE(owner->log().find("died"), std::string::npos) << owner->log();
  EXPECT_EQ(owner->stop(), 0) << owner->log();
}

TEST_F(embedded_redis_test, a_kill_9_owners_stale_server_is_stopped_cleanly_by_the_next_start) {
  dir = test::make_config_dir(redis_port, port);
  embedded(dir);
  // This test process adopts the orphaned redis-server and does not reap it, as a container's
  // init may not: a dead one then lingers as a zombie, which kill(pid, 0) still finds.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  auto first = start_dmq(dir, port, "run");
  auto id = save(port, later());
  pid_t stale = redis_pid(dir);
  ASSERT_GT(stale, 0);
  // Frozen, the server outlives its owner: the SIGTERM its death sends stays pending.
  ::kill(stale, SIGSTOP);
  first->signal(SIGKILL);
  EXPECT_EQ(first->wait_exit(), 128 + SIGKILL);

  test::dmq_process next(dir, port, "run", false);
  EXPECT_TRUE(test::wait_until([&] { return ready_for_messages(port); }, 5s)) << next.log();
  EXPECT_NE(redis_pid(dir), stale);
  int status = 0;
  EXPECT_EQ(::waitpid(stale, &status, WNOHANG), stale) << "the stale redis-server still runs";
  EXPECT_TRUE(WIFEXITED(status)) << "killed, not shut down (its AOF not flushed): " << status;
  EXPECT_NE(next.log().find("stopping a stale redis-server (pid " + std::to_string(stale)),
            std::string::npos)
      << next.log();
  EXPECT_EQ(status_of(port, id, "dgfa"), "waiting");
  EXPECT_EQ(next.stop(), 0) << next.log();
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
}

}  // namespace
}  // namespace dmq::e2e
