// redis_settings_test: dmq checks the settings of the Redis it uses (storage/redis_check.h,
// docs/operations.md) against a real redis-server: an evicting maxmemory-policy stops the
// start (or, with redis.allow_eviction, is warned about), a policy turned evicting is found
// at the next reconnect (/healthz 503, saves refused), /healthz and the dispatcher's status
// page show the checks, and `dmq check --redis` prints them.
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "fixture.h"

namespace dmq::e2e {
namespace {

// with_redis_keys returns a config dir on redis_port serving on http_port, with lines added
// to its redis: section (the fixture's config has one already).
std::string with_redis_keys(int redis_port, int http_port, const std::string& lines,
                            const std::string& extra = "") {
  auto dir = test::make_config_dir(redis_port, http_port, extra);
  std::ifstream in(dir + "/config.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  auto yaml = ss.str();
  EXPECT_TRUE(replace_once(yaml, "redis:\n", "redis:\n" + lines));
  std::ofstream(dir + "/config.yaml", std::ios::trunc) << yaml;
  return dir;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// managed_redis: a redis-server whose CONFIG command is disabled, as on managed Redis
// services (rename-command is a start-up option, which test::redis_server does not take).
class managed_redis {
 public:
  managed_redis() : port_(test::free_port()) {
    dir_ = std::filesystem::temp_directory_path() / ("dmq-managed-" + std::to_string(port_));
    std::filesystem::create_directories(dir_);
    pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      auto port = std::to_string(port_);
      auto log = (dir_ / "redis.log").string();
      ::execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "yes", "--maxmemory-policy", "allkeys-lru", "--dir",
               dir_.c_str(), "--logfile", log.c_str(), "--rename-command", "CONFIG", "", nullptr);
      ::_exit(127);
    }
  }
  ~managed_redis() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  int port() const { return port_; }
  // answers says whether it answers PING.
  bool answers() const {
    timeval tv{1, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
    bool ok = false;
    if (c && !c->err) {
      auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
      ok = r && r->type == REDIS_REPLY_STATUS;
      if (r) freeReplyObject(r);
    }
    if (c) redisFree(c);
    return ok;
  }

 private:
  int port_;
  pid_t pid_ = -1;
  std::filesystem::path dir_;
};

// redis_settings_test: a redis-server per test, its settings set before dmq starts.
class redis_settings_test : public ::testing::Test {
 protected:
  void TearDown() override {
    dmq.reset();
    test::remove_config_dir(dir);
  }
  void set(const std::string& name, const std::string& value) {
    ASSERT_EQ(redis.cmd({"CONFIG", "SET", name, value}).str, "OK");
  }
  test::http_reply healthz() const { return test::call(port, "GET", "/healthz"); }

  test::redis_server redis;
  int port = test::free_port();
  std::string dir;
  std::unique_ptr<test::dmq_process> dmq;
};

TEST_F(redis_settings_test, dmq_refuses_to_start_on_a_redis_that_can_evict_naming_the_fix) {
  set("maxmemory-policy", "volatile-lru");
  dir = test::make_config_dir(redis.port(), port);
  dmq = std::make_unique<test::dmq_process>(dir, port, "run", false);
  EXPECT_EQ(dmq->wait_exit(10000), 2) << dmq->log();
  EXPECT_TRUE(contains(dmq->log(), "maxmemory-policy is volatile-lru")) << dmq->log();
  EXPECT_TRUE(contains(dmq->log(), "CONFIG SET maxmemory-policy noeviction")) << dmq->log();
  EXPECT_TRUE(contains(dmq->log(), "redis.allow_eviction: true")) << dmq->log();
}

TEST_F(redis_settings_test, with_allow_eviction_it_starts_warns_and_healthz_shows_the_risk) {
  set("maxmemory-policy", "volatile-lru");
  dir = with_redis_keys(redis.port(), port, "  allow_eviction: true\n");
  dmq = start_dmq(dir, port);
  EXPECT_TRUE(contains(dmq->log(), "WARNING: maxmemory-policy is volatile-lru")) << dmq->log();
  auto r = healthz();
  EXPECT_EQ(r.status, 200) << r.body;
  auto checks = r.data().at("redis_checks");
  EXPECT_EQ(checks.at("status").as_string(), "warning") << r.body;
  EXPECT_EQ(checks.at("maxmemory_policy").as_string(), "volatile-lru") << r.body;
  EXPECT_TRUE(contains(text(checks.at("findings")), "redis.allow_eviction is true")) << r.body;
}

TEST_F(redis_settings_test, healthz_shows_the_checks_of_a_safe_redis) {
  set("appendonly", "yes");
  dir = test::make_config_dir(redis.port(), port);
  dmq = start_dmq(dir, port);
  auto r = healthz();
  EXPECT_EQ(r.status, 200) << r.body;
  auto checks = r.data().at("redis_checks");
  EXPECT_EQ(checks.at("status").as_string(), "ok") << r.body;
  EXPECT_EQ(checks.at("maxmemory_policy").as_string(), "noeviction") << r.body;
  EXPECT_EQ(checks.at("appendonly").as_string(), "yes") << r.body;
  EXPECT_EQ(checks.at("source").as_string(), "CONFIG") << r.body;
  EXPECT_TRUE(checks.at("version").as_string().starts_with("7.")) << r.body;
  EXPECT_TRUE(checks.at("findings").as_array().empty()) << r.body;
}

TEST_F(redis_settings_test, no_aof_is_a_warning_naming_the_risk) {
  set("appendonly", "no");
  dir = test::make_config_dir(redis.port(), port);
  dmq = start_dmq(dir, port);
  EXPECT_TRUE(contains(dmq->log(), "WARNING: appendonly is no")) << dmq->log();
  auto r = healthz();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.data().at("redis_checks").at("status").as_string(), "warning") << r.body;
}

TEST_F(redis_settings_test, a_policy_turned_evicting_is_refused_at_the_next_reconnect) {
  dir = test::make_config_dir(redis.port(), port);
  dmq = start_dmq(dir, port);
  set("maxmemory-policy", "allkeys-lru");
  // The connection breaks (as on a network fault or a Redis restart) and comes back.
  redis.cmd({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
  test::http_reply r;
  EXPECT_TRUE(test::wait_until([&] {  // (503 "redis is down" first, while it reconnects)
    r = healthz();
    return r.status == 503 && contains(r.body, "refused");
  })) << r.body;
  EXPECT_EQ(r.code(), 124) << r.body;
  EXPECT_TRUE(
      contains(r.json().at("message").as_string().c_str(), "maxmemory-policy is allkeys-lru"))
      << r.body;
  EXPECT_EQ(r.data().at("redis_checks").at("status").as_string(), "refused") << r.body;
  auto saved = test::call(port, "POST", "/api/message/single", text(order()));
  EXPECT_EQ(saved.code(), 106) << saved.body;  // refused, not stored in a Redis that evicts
  EXPECT_TRUE(contains(dmq->log(), "refused: maxmemory-policy is allkeys-lru")) << dmq->log();

  set("maxmemory-policy", "noeviction");  // fixed: dmq resumes by itself
  EXPECT_TRUE(test::wait_until([&] { return ready_for_messages(port); })) << dmq->log();
  EXPECT_EQ(test::call(port, "POST", "/api/message/single", text(order())).code(), 0);
}

TEST_F(redis_settings_test, the_dispatchers_status_page_shows_the_checks) {
  int status_port = test::free_port();
  dir = test::make_config_dir(redis.port(), port,
                              "dispatch:\n  http_port: " + std::to_string(status_port) + "\n");
  dmq = std::make_unique<test::dmq_process>(dir, status_port, "server");
  auto r = test::call(status_port, "GET", "/healthz");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.data().at("redis_checks").at("maxmemory_policy").as_string(), "noeviction") << r.body;
  set("maxmemory-policy", "volatile-ttl");
  redis.cmd({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
  EXPECT_TRUE(test::wait_until([&] {
    r = test::call(status_port, "GET", "/healthz");
    return r.status == 503 && contains(r.body, "refused");
  })) << r.body;
  EXPECT_TRUE(contains(r.body, "maxmemory-policy is volatile-ttl")) << r.body;
}

TEST_F(redis_settings_test, dmq_check_redis_prints_the_findings_and_exits_2_on_a_refusal) {
  set("maxmemory-policy", "volatile-lru");
  dir = test::make_config_dir(redis.port(), port);
  auto refused = check_redis(dir);
  EXPECT_EQ(refused.exit_code, 2) << refused.text;
  EXPECT_TRUE(contains(refused.text, "maxmemory-policy volatile-lru")) << refused.text;
  EXPECT_TRUE(contains(refused.text, "refusal: maxmemory-policy is volatile-lru")) << refused.text;
  EXPECT_TRUE(contains(refused.text, "warning: appendonly is no")) << refused.text;

  set("maxmemory-policy", "noeviction");
  auto fine = check_redis(dir);
  EXPECT_EQ(fine.exit_code, 0) << fine.text;
  EXPECT_TRUE(contains(fine.text, "redis: OK for dmq")) << fine.text;
}

TEST_F(redis_settings_test, without_config_get_the_policy_is_read_from_info) {
  managed_redis managed;
  ASSERT_TRUE(test::wait_until([&] { return managed.answers(); }));
  dir = test::make_config_dir(managed.port(), port);
  auto refused = check_redis(dir);
  EXPECT_EQ(refused.exit_code, 2) << refused.text;
  EXPECT_TRUE(contains(refused.text, "maxmemory-policy allkeys-lru (from INFO)")) << refused.text;
  EXPECT_TRUE(contains(refused.text, "appendonly yes, appendfsync unknown")) << refused.text;
  dmq = std::make_unique<test::dmq_process>(dir, port, "run", false);
  EXPECT_EQ(dmq->wait_exit(10000), 2) << dmq->log();
  EXPECT_TRUE(contains(dmq->log(), "maxmemory-policy is allkeys-lru")) << dmq->log();
}

TEST_F(redis_settings_test, dmq_check_redis_says_when_redis_cannot_be_reached) {
  dir = with_redis_keys(test::free_port(), port, "  connect_timeout_ms: 200\n");  // nobody there
  auto r = check_redis(dir);
  EXPECT_EQ(r.exit_code, 1) << r.text;
  EXPECT_TRUE(contains(r.text, "cannot reach")) << r.text;
}

}  // namespace
}  // namespace dmq::e2e
