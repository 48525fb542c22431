// Redis credentials (docs/security.md, "Redis credentials"): dmq authenticates to a real
// redis-server that requires a password, read from env:VAR or file:PATH; as a Redis ACL
// user (AUTH user password) with the least set of commands docs/security.md recommends; a
// refused AUTH is logged and shown by /healthz, without the password; and the embedded
// Redis gets a generated password kept in a 0600 file, passed through a 0600 config file,
// never on redis-server's command line.
#include <sys/stat.h>

#include "delivery_fixture.h"
#include "util/crypto.h"

namespace dmq::e2e {
namespace {

namespace fs = std::filesystem;

// The ACL docs/security.md recommends for dmq's user (key_prefix dmq): its keys, its wake
// channels, and only the commands it sends or its scripts call. No CONFIG: dmq then reads
// the settings it checks from INFO (CONFIG GET would also show the default user's password).
const std::vector<std::string> recommended_acl = {
    "resetkeys", "~dmq:*", "resetchannels", "&dmq:*", "-@all", "+ping", "+select", "+info", "+time",
    "+multi", "+exec", "+get", "+set", "+del", "+pexpire", "+pexpireat", "+pttl", "+hget", "+hmget",
    "+hset", "+hdel", "+zadd", "+zrem", "+zscore", "+zcard", "+zcount", "+zrange", "+scan",
    "+publish", "+subscribe", "+eval", "+evalsha", "+script|load",
    // the operators' features (issue 14): find index, pages, stats, events, jobs, history
    "+sadd", "+smembers", "+strlen", "+mget", "+hgetall", "+hsetnx", "+hexists", "+exists",
    "+hincrby", "+xadd", "+xrange", "+xrevrange", "+zremrangebyrank", "+pexpiretime",
    "+zremrangebyscore",
    // Redis Cluster and redis.wait_replicas (issue 15; docs/scaling.md)
    "+wait", "+cluster|slots", "+asking", "+spublish", "+ssubscribe"};

std::string random_password() {
  return util::to_hex(util::random_bytes(16));
}

// with_redis edits the redis: section of the config in dir (its first line is "redis:").
void with_redis(const std::string& dir, const std::string& lines) {
  std::ifstream in(dir + "/config.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  auto yaml = ss.str();
  ASSERT_TRUE(replace_once(yaml, "redis:\n", "redis:\n" + lines));
  std::ofstream(dir + "/config.yaml", std::ios::trunc) << yaml;
}

std::string healthz_text(int port) {
  try {
    return test::call(port, "GET", "/healthz").body;
  } catch (...) {
    return "<no answer>";
  }
}

std::uint64_t save(int port) {
  auto r = test::call(port, "POST", "/api/message/single", text(order()));
  EXPECT_EQ(r.code(), 0) << r.body;
  return r.code() == 0 ? id_of(r) : 0;
}

// file_mode returns the permission bits of path (-1 if it does not exist).
int file_mode(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// cmdline returns /proc/<pid>/cmdline with its NULs as spaces.
std::string cmdline(pid_t pid) {
  auto s = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  for (auto& c : s)
    if (c == '\0') c = ' ';
  return s;
}

class redis_credentials : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const auto& d : dirs) test::remove_config_dir(d);
  }
  // config writes a config dir for `dmq run` delivering to the consumer endpoint.
  std::string config(int redis_port, const std::string& redis_lines) {
    consumer_conf dgfa{"dgfa", "/dgfa/createorder", "", default_timeout_ms, 3, 200, {}};
    dirs.push_back(write_delivery_config(redis_port, port, consumer.port(), {dgfa}));
    with_redis(dirs.back(), redis_lines);
    return dirs.back();
  }
  // delivered waits until the consumer received id and its status is done.
  bool delivered(std::uint64_t id) {
    bool got = consumer.wait_until(
        [&](const std::vector<consumer_request>& rs) {
          return std::any_of(rs.begin(), rs.end(), [&](const auto& r) { return r.msg_id == id; });
        },
        10s);
    return got && test::wait_until(
                      [&] {
                        auto r = test::call(
                            port, "GET",
                            "/api/message/status?msg_id=" + std::to_string(id) + "&consumer=dgfa");
                        return r.data() == json::value("done");
                      },
                      5s);
  }

  const std::string password = random_password();
  test::redis_server redis{test::redis_server_options{false, password}};
  test::consumer_endpoint consumer;
  int port = test::free_port();
  std::vector<std::string> dirs;
};

TEST_F(redis_credentials, a_password_from_env_authenticates) {
  ::setenv("DMQ_TEST_REDIS_PASSWORD", password.c_str(), 1);
  auto dir = config(redis.port(), "  password: env:DMQ_TEST_REDIS_PASSWORD\n");
  auto dmq = start_dmq(dir, port, "run");
  ::unsetenv("DMQ_TEST_REDIS_PASSWORD");
  EXPECT_TRUE(delivered(save(port))) << dmq->log();
  EXPECT_EQ(dmq->log().find(password), std::string::npos) << "the password is in the log";
}

TEST_F(redis_credentials, a_password_from_a_file_authenticates) {
  auto dir = config(redis.port(), "  password: file:redis-password\n");
  std::ofstream(dir + "/redis-password") << password << "\n";  // the newline is not part of it
  auto dmq = start_dmq(dir, port, "run");
  EXPECT_TRUE(delivered(save(port))) << dmq->log();
  auto check = check_redis(dir);
  EXPECT_EQ(check.exit_code, 0) << check.text;
  EXPECT_NE(check.text.find("redis: OK for dmq"), std::string::npos) << check.text;
}

TEST_F(redis_credentials, a_wrong_password_stops_the_start_with_a_clear_message) {
  auto wrong = random_password();
  auto dir = config(redis.port(), "  password: " + wrong + "\n");
  test::dmq_process dmq(dir, port, "run", false);
  EXPECT_EQ(dmq.wait_exit(15000), 1) << dmq.log();
  auto log = dmq.log();
  EXPECT_NE(log.find("authentication refused by 127.0.0.1:" + std::to_string(redis.port())),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("WRONGPASS"), std::string::npos) << log;
  EXPECT_NE(log.find("redis.password"), std::string::npos) << log;
  EXPECT_EQ(log.find(wrong), std::string::npos) << "the password is in the log:\n" << log;
  auto check = check_redis(dir);
  EXPECT_EQ(check.exit_code, 1) << check.text;
  EXPECT_NE(check.text.find("authentication refused"), std::string::npos) << check.text;
  EXPECT_EQ(check.text.find(wrong), std::string::npos) << check.text;
}

TEST_F(redis_credentials, no_password_where_one_is_required_says_noauth) {
  auto dir = config(redis.port(), "");
  test::dmq_process dmq(dir, port, "run", false);
  EXPECT_EQ(dmq.wait_exit(15000), 1) << dmq.log();
  EXPECT_NE(dmq.log().find("NOAUTH"), std::string::npos) << dmq.log();
  EXPECT_NE(dmq.log().find("no password was sent"), std::string::npos) << dmq.log();
}

TEST_F(redis_credentials, an_acl_user_with_the_recommended_acl_delivers_and_can_do_no_more) {
  auto user_password = random_password();
  std::vector<std::string> setuser{"ACL", "SETUSER", "dmq", "reset", "on", ">" + user_password};
  setuser.insert(setuser.end(), recommended_acl.begin(), recommended_acl.end());
  ASSERT_EQ(redis.cmd(setuser).str, "OK");
  auto dir = config(redis.port(), "  username: dmq\n  password: file:redis-password\n");
  std::ofstream(dir + "/redis-password") << user_password;
  auto dmq = start_dmq(dir, port, "run");
  // Saves (MULTI/EXEC, SET NX, ZADD), delayed ones, claims and acks (scripts), the wake
  // (PUBLISH, SUBSCRIBE), status and pending reads: all under the narrow ACL.
  EXPECT_TRUE(delivered(save(port))) << dmq->log();
  auto delayed = order();
  delayed["delay_ms"] = 300;
  auto r = test::call(port, "POST", "/api/message/single", text(delayed));
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_TRUE(delivered(id_of(r))) << dmq->log();
  EXPECT_EQ(test::call(port, "GET", "/api/message/pending?consumer=dgfa").code(), 0);
  EXPECT_EQ(test::call(port, "GET", "/healthz").status, 200) << dmq->log();
  EXPECT_EQ(dmq->log().find("NOPERM"), std::string::npos) << dmq->log();
  auto check = check_redis(dir);
  EXPECT_EQ(check.exit_code, 0) << check.text;
  // The ACL holds: another key, a dangerous command, CONFIG (which would show the default
  // user's password) are refused to dmq's user.
  const std::vector<std::string> as_dmq{"dmq", user_password};
  EXPECT_EQ(redis.cmd_as(as_dmq, {"PING"}).str, "PONG");
  EXPECT_TRUE(redis.cmd_as(as_dmq, {"GET", "other:key"}).str.starts_with("NOPERM"));
  EXPECT_TRUE(redis.cmd_as(as_dmq, {"FLUSHALL"}).str.starts_with("NOPERM"));
  EXPECT_TRUE(redis.cmd_as(as_dmq, {"CONFIG", "GET", "requirepass"}).str.starts_with("NOPERM"));
  EXPECT_EQ(dmq->stop(), 0) << dmq->log();
}

TEST_F(redis_credentials, a_password_changed_under_a_running_dmq_shows_in_healthz_and_the_log) {
  auto user_password = random_password();
  std::vector<std::string> setuser{"ACL", "SETUSER", "dmq", "reset", "on", ">" + user_password};
  setuser.insert(setuser.end(), recommended_acl.begin(), recommended_acl.end());
  ASSERT_EQ(redis.cmd(setuser).str, "OK");
  auto dir = config(redis.port(), "  username: dmq\n  password: " + user_password + "\n");
  auto dmq = start_dmq(dir, port, "run");
  // The user's password changes, and its connections are cut: every reconnect is refused.
  auto other = random_password();
  ASSERT_EQ(redis.cmd({"ACL", "SETUSER", "dmq", "resetpass", ">" + other}).str, "OK");
  redis.cmd({"CLIENT", "KILL", "USER", "dmq"});
  std::string health;
  EXPECT_TRUE(test::wait_until(
      [&] {
        health = healthz_text(port);
        return health.find("authentication refused") != std::string::npos;
      },
      10s))
      << health << "\n"
      << dmq->log();
  EXPECT_NE(health.find("WRONGPASS"), std::string::npos) << health;
  EXPECT_NE(health.find("user 'dmq'"), std::string::npos) << health;
  EXPECT_EQ(test::call(port, "GET", "/healthz").status, 503);
  EXPECT_TRUE(dmq->running()) << dmq->log();  // no crash loop: it waits for the fix
  // Logged once per reason, not at every retry (a few hundred ms apart).
  auto log = dmq->log();
  std::size_t lines = 0;
  for (auto at = log.find("authentication refused"); at != std::string::npos;
       at = log.find("authentication refused", at + 1))
    ++lines;
  EXPECT_GE(lines, 1u) << log;
  EXPECT_LE(lines, 2u) << log;
  EXPECT_EQ(log.find(user_password), std::string::npos) << log;
  EXPECT_EQ(log.find(other), std::string::npos) << log;
  // Fixed in Redis (the old password back): dmq reconnects by itself.
  ASSERT_EQ(redis.cmd({"ACL", "SETUSER", "dmq", "resetpass", ">" + user_password}).str, "OK");
  EXPECT_TRUE(test::wait_until([&] { return ready_for_messages(port); }, 10s)) << dmq->log();
  EXPECT_TRUE(delivered(save(port))) << dmq->log();
}

// The embedded Redis: a generated password, kept, private, never on a command line.
class embedded_credentials : public ::testing::Test {
 protected:
  void TearDown() override { test::remove_config_dir(dir); }
  // make writes the config; redis-server is started through a wrapper that writes the
  // arguments it was given to argv_file, one a line, then execs redis-server with them
  // (same pid): what the command line held, whatever redis-server later shows as its title.
  void make(const std::string& redis_lines = "") {
    dir = test::make_config_dir(redis_port, port,
                                "dispatch:\n  http_port: " + std::to_string(status_port) + "\n");
    argv_file = dir + "/redis-argv";
    auto wrapper = dir + "/redis-server-wrapper";
    std::ofstream(wrapper) << "#!/bin/sh\nprintf '%s\\n' \"$@\" >> '" << argv_file
                           << "'\nexec redis-server \"$@\"\n";
    fs::permissions(wrapper, fs::perms::owner_all);
    with_redis(dir, "  embedded: true\n  server_path: " + wrapper + "\n" + redis_lines);
  }
  std::string argv() const { return read_file(argv_file); }
  fs::path data() const { return fs::path(dir) / "data" / "redis"; }
  pid_t server_pid() const {
    std::ifstream in(data() / "redis.pid");
    pid_t pid = 0;
    in >> pid;
    return pid;
  }
  // raw runs a command on the embedded server as a client that knows auth (empty: nothing).
  redis::reply raw(const std::vector<std::string>& auth, const std::vector<std::string>& args) {
    return test::redis_cmd(redis_port, auth, args);
  }

  int redis_port = test::free_port();
  int port = test::free_port();
  int status_port = test::free_port();
  std::string dir;
  std::string argv_file;
};

TEST_F(embedded_credentials, a_generated_password_in_a_0600_file_not_on_the_command_line) {
  make();
  std::string pw;
  {
    auto owner = start_dmq(dir, port, "run");
    ASSERT_EQ(file_mode(data() / "password"), 0600);
    ASSERT_EQ(file_mode(data() / "redis.conf"), 0600);
    pw = read_file(data() / "password");
    ASSERT_EQ(pw.size(), 65u) << "64 hex digits and a newline: " << pw;
    pw.pop_back();
    pid_t server = server_pid();
    ASSERT_GT(server, 0);
    // Neither in the arguments redis-server was started with (redis-server replaces its
    // title in /proc/PID/cmdline soon after it starts, but not at once)...
    auto args = argv();
    EXPECT_NE(args.find("redis.conf"), std::string::npos) << args;
    EXPECT_EQ(args.find(pw), std::string::npos) << "the password is on the command line: " << args;
    EXPECT_EQ(args.find("requirepass"), std::string::npos) << args;
    // ...nor in its command line now.
    auto line = cmdline(server);
    EXPECT_NE(line.find("redis-server"), std::string::npos) << line;
    EXPECT_EQ(line.find(pw), std::string::npos) << "the password is on the command line: " << line;
    // The server wants it: without it nothing, with it everything.
    EXPECT_TRUE(raw({}, {"GET", "x"}).str.starts_with("NOAUTH")) << raw({}, {"GET", "x"}).str;
    EXPECT_TRUE(raw({"wrong"}, {"PING"}).str.starts_with("WRONGPASS"));
    EXPECT_EQ(raw({pw}, {"PING"}).str, "PONG");
    auto id = save(port);
    // A second process on the same config (`dmq server` beside `dmq run`) shares the
    // server: it reads the same file, and answers /healthz 200.
    test::dmq_process sharer(dir, status_port, "server");
    EXPECT_NE(sharer.log().find("sharing its redis-server"), std::string::npos) << sharer.log();
    EXPECT_EQ(server_pid(), server);
    EXPECT_EQ(sharer.stop(), 0) << sharer.log();
    EXPECT_EQ(test::call(port, "GET",
                         "/api/message/status?msg_id=" + std::to_string(id) + "&consumer=dgfa")
                  .code(),
              0);
    auto log = owner->log() + sharer.log();
    EXPECT_EQ(log.find(pw), std::string::npos) << "the password is in a log";
    EXPECT_EQ(read_file(data() / "redis.log").find(pw), std::string::npos);
    EXPECT_EQ(owner->stop(), 0) << owner->log();
  }
  // Restarted, it keeps the same password (created once).
  auto again = start_dmq(dir, port, "run");
  EXPECT_EQ(read_file(data() / "password"), pw + "\n");
  EXPECT_EQ(raw({pw}, {"PING"}).str, "PONG");
  EXPECT_EQ(again->stop(), 0) << again->log();
}

TEST_F(embedded_credentials, a_configured_password_and_user_are_used_instead) {
  // Spaces, quotes and a backslash: redis.conf must quote them.
  auto pw = random_password() + " q\"uo\\te'#";
  make("  username: dmq\n  password: file:redis-password\n");
  std::ofstream(dir + "/redis-password") << pw << "\n";
  auto owner = start_dmq(dir, port, "run");
  EXPECT_FALSE(fs::exists(data() / "password")) << "no generated password beside redis.password";
  EXPECT_EQ(file_mode(data() / "redis.conf"), 0600);
  EXPECT_EQ(argv().find(pw), std::string::npos) << argv();
  EXPECT_EQ(cmdline(server_pid()).find(pw), std::string::npos) << cmdline(server_pid());
  EXPECT_EQ(raw({"dmq", pw}, {"PING"}).str, "PONG");
  EXPECT_EQ(raw({pw}, {"PING"}).str, "PONG");  // the default user too (requirepass)
  EXPECT_TRUE(raw({}, {"PING"}).str.starts_with("NOAUTH"));
  save(port);
  auto check = check_redis(dir);
  EXPECT_EQ(check.exit_code, 0) << check.text;
  EXPECT_EQ(owner->stop(), 0) << owner->log();
}

}  // namespace
}  // namespace dmq::e2e
