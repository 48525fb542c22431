#include "config/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>

#include "config/spelling.h"

namespace {

namespace fs = std::filesystem;
using dmq::config::load;
using dmq::config::load_result;
using dmq::config::problem;

// config_dir: a unique temporary CONFIG_DIR, removed at the end of the test.
class config_dir {
 public:
  config_dir() {
    static std::atomic<int> n{0};
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() / ("dmq-config-test-" + std::to_string(::getpid()) + "-" +
                                         test->name() + "-" + std::to_string(n++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~config_dir() { fs::remove_all(path_); }
  config_dir(const config_dir&) = delete;
  config_dir& operator=(const config_dir&) = delete;

  // write writes text to name (relative to the directory), creating folders as needed.
  config_dir& write(const std::string& name, const std::string& text) {
    auto file = path_ / name;
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
    return *this;
  }
  const fs::path& path() const { return path_; }
  load_result load() const { return dmq::config::load(path_); }

 private:
  fs::path path_;
};

const std::string base_config = R"(product_list:
  - project: sds
    allow_ip: [127.0.0.1]
  - project: svs
    allow_ip: [127.0.0.1]
command_list:
  - cmd-a.yaml
)";

const std::string base_command = R"(project: sds
command: sds:create:order
consumer_list:
  - host: 127.0.0.1:8959
    name: first
    path: /api/a
    timeout: 600
    retry_times: 1
    interval: 100
)";

// command_file returns a command file for project and cmd with one consumer named name.
std::string command_file(const std::string& project, const std::string& cmd,
                         const std::string& name) {
  return "project: " + project + "\ncommand: " + cmd + "\nconsumer_list:\n  - host: h:1\n" +
         "    name: " + name + "\n    path: /x\n";
}

// with_base writes the base configuration, config.yaml extended by extra.
config_dir& with_base(config_dir& d, const std::string& extra = "") {
  return d.write("config.yaml", base_config + extra).write("commands/cmd-a.yaml", base_command);
}

// all_problems joins every problem, for failure messages.
std::string all_problems(const load_result& r) {
  std::string out;
  for (const auto& p : r.problems) out += "\n  " + p.to_string();
  return out;
}

// has_problem says whether r holds a problem in file at key whose reason contains reason.
bool has_problem(const load_result& r, const std::string& file, const std::string& key,
                 const std::string& reason) {
  return std::any_of(r.problems.begin(), r.problems.end(), [&](const problem& p) {
    return p.file == file && p.key == key && p.reason.find(reason) != std::string::npos;
  });
}

bool has_note(const load_result& r, const std::string& text) {
  return std::any_of(r.notes.begin(), r.notes.end(),
                     [&](const std::string& n) { return n.find(text) != std::string::npos; });
}

#define EXPECT_PROBLEM(r, file, key, reason)     \
  EXPECT_TRUE(has_problem(r, file, key, reason)) \
      << "wanted " << file << ": " << key << ": ..." << reason << "...; got" << all_problems(r)

// problem_in loads base config.yaml + extra and returns the result.
load_result loaded_with(const std::string& extra) {
  config_dir d;
  return with_base(d, extra).load();
}

// ---- the seed's own configuration and the shipped example ----

TEST(config, seed_config_loads_without_problems) {
  auto dir = fs::path(DMQ_SOURCE_DIR) / "tests/fixtures/seed-config";
  auto r = load(dir);
  ASSERT_TRUE(r.problems.empty()) << all_problems(r);
  ASSERT_TRUE(r.cfg);
  const auto& s = *r.cfg;
  EXPECT_EQ(s.http.port, 8989);
  ASSERT_EQ(s.producers.size(), 2u);
  EXPECT_EQ(s.producers[0].project, "svs");
  EXPECT_EQ(s.producers[1].project, "sds");
  ASSERT_EQ(s.producers[1].allow_ip.size(), 1u);
  EXPECT_TRUE(s.producers[1].allow_ip[0].contains(*dmq::util::parse_ip("127.0.0.1")));
  EXPECT_EQ(s.msg_save_days, 4);
  EXPECT_EQ(s.request_trace_id_key, "Request-Id");
  EXPECT_TRUE(s.log.disable_success_log);
  EXPECT_EQ(s.redis.host, "127.0.0.1");
  EXPECT_EQ(s.redis.port, 6379);
  EXPECT_EQ(s.redis.password, "");
  EXPECT_EQ(s.redis.db, 2);
  EXPECT_EQ(s.redis.pool_size, 1000);
  EXPECT_EQ(s.redis.max_retries, 3);
  EXPECT_EQ(s.redis.min_retry_backoff_ms, 8);
  EXPECT_EQ(s.redis.max_retry_backoff_ms, 400);
  EXPECT_EQ(s.redis.read_timeout_ms, 1000);
  EXPECT_EQ(s.redis.write_timeout_ms, 2000);
  EXPECT_EQ(s.redis.data_dir, fs::absolute(dir) / "data/redis");
  EXPECT_TRUE(s.log.dir.empty());
}

TEST(config, seed_config_has_its_one_command_and_two_consumers) {
  auto r = load(fs::path(DMQ_SOURCE_DIR) / "tests/fixtures/seed-config");
  ASSERT_TRUE(r.cfg) << all_problems(r);
  ASSERT_EQ(r.cfg->commands.size(), 1u);
  const auto& c = r.cfg->commands[0];
  EXPECT_EQ(c.project, "sds");
  EXPECT_EQ(c.cmd, "sds:create:order");
  EXPECT_EQ(c.file, "commands/cmd-sds-create-order.yaml");
  EXPECT_EQ(c.consumer_names, (std::vector<std::string>{"dgfa", "fghyds"}));
  ASSERT_EQ(c.consumers.size(), 2u);
  EXPECT_EQ(c.consumers[0].host, "127.0.0.1:8959");
  EXPECT_EQ(c.consumers[0].path, "/api/mytest/test/createorder");
  EXPECT_EQ(c.consumers[0].timeout_ms, 600);
  EXPECT_EQ(c.consumers[0].retry_times, 3);
  EXPECT_EQ(c.consumers[0].interval_ms, 500);
  EXPECT_EQ(c.consumers[1].timeout_ms, 600);
  EXPECT_EQ(c.consumers[1].retry_times, 2);
  EXPECT_EQ(c.consumers[1].interval_ms, 300);
  EXPECT_EQ(r.cfg->find_command("sds:create:order"), &c);
  EXPECT_EQ(r.cfg->find_command("svs:notice:user"), nullptr);
  EXPECT_EQ(r.cfg->find_consumer("fghyds").second, &c.consumers[1]);
  EXPECT_EQ(r.cfg->find_consumer("nobody").first, nullptr);
}

TEST(config, seed_config_notes_each_ignored_key_once) {
  auto r = load(fs::path(DMQ_SOURCE_DIR) / "tests/fixtures/seed-config");
  EXPECT_TRUE(has_note(r, "config.yaml: get_point_sleep is ignored: "));
  for (auto key : {"get_point_sleep", "msg_point_chan_len", "msg_bucket_chan_len",
                   "msg_detail_chan_len", "bucket_coroutine_count", "msg_coroutine_count",
                   "work_pool_size", "redis.min_idle_conns", "redis.pool_timeout"}) {
    auto n = std::count_if(r.notes.begin(), r.notes.end(), [&](const std::string& note) {
      return note.starts_with("config.yaml: " + std::string(key) + " is ignored: ");
    });
    EXPECT_EQ(n, 1) << key;
  }
  EXPECT_EQ(r.notes.size(), 9u);
}

TEST(config, example_config_loads_with_both_commands) {
  auto dir = fs::path(DMQ_SOURCE_DIR) / "config";
  auto r = load(dir);
  ASSERT_TRUE(r.cfg) << all_problems(r);
  EXPECT_TRUE(r.cfg->find_command("sds:create:order"));
  EXPECT_TRUE(r.cfg->find_command("svs:notice:user"));
  EXPECT_TRUE(r.cfg->find_consumer("wet234").second);
  EXPECT_TRUE(r.cfg->redis.embedded);
  EXPECT_EQ(r.cfg->http.listen, "127.0.0.1");
  EXPECT_EQ(r.cfg->log.dir, fs::absolute(dir) / "logs");
}

// ---- where files are found ----

TEST(config, missing_config_yaml_is_a_problem) {
  config_dir d;
  auto r = d.load();
  EXPECT_FALSE(r.cfg);
  EXPECT_PROBLEM(r, "config.yaml", "", "not found");
}

TEST(config, command_file_is_found_in_dir_or_in_commands) {
  config_dir d;
  d.write("config.yaml", base_config + "  - cmd-b.yaml\n  - sub/cmd-c.yaml\n")
      .write("cmd-a.yaml", base_command)
      .write("commands/cmd-b.yaml", command_file("svs", "svs:b", "b"))
      .write("sub/cmd-c.yaml", command_file("svs", "svs:c", "c"));
  auto r = d.load();
  ASSERT_TRUE(r.cfg) << all_problems(r);
  ASSERT_EQ(r.cfg->commands.size(), 3u);
  EXPECT_EQ(r.cfg->commands[0].file, "cmd-a.yaml");
  EXPECT_EQ(r.cfg->commands[1].file, "commands/cmd-b.yaml");
  EXPECT_EQ(r.cfg->commands[2].file, "sub/cmd-c.yaml");
}

TEST(config, command_file_may_be_absolute) {
  config_dir d, other;
  other.write("x.yaml", command_file("svs", "svs:x", "x"));
  with_base(d, "  - " + (other.path() / "x.yaml").string() + "\n");
  auto r = d.load();
  ASSERT_TRUE(r.cfg) << all_problems(r);
  EXPECT_EQ(r.cfg->commands.at(1).file, (other.path() / "x.yaml").string());
}

TEST(config, missing_command_file_is_a_problem) {
  auto r = loaded_with("  - cmd-none.yaml\n");
  EXPECT_PROBLEM(r, "config.yaml", "command_list[1]", "command file 'cmd-none.yaml' not found");
}

TEST(config, command_file_listed_twice_is_a_problem) {
  auto r = loaded_with("  - commands/cmd-a.yaml\n");
  EXPECT_PROBLEM(r, "config.yaml", "command_list[1]", "again (also command_list[0])");
}

// ---- malformed files and wrong types ----

TEST(config, bad_yaml_names_line_and_column) {
  config_dir d;
  d.write("config.yaml", "http_port: 8989\nproduct_list: [a, b\n");
  auto r = d.load();
  EXPECT_PROBLEM(r, "config.yaml", "", "bad YAML at line 3, column 1");
}

TEST(config, bad_yaml_in_a_command_file) {
  config_dir d;
  d.write("config.yaml", base_config).write("commands/cmd-a.yaml", "project: sds\n  - x: [\n");
  auto r = d.load();
  EXPECT_PROBLEM(r, "commands/cmd-a.yaml", "", "bad YAML at line 2");
}

TEST(config, wrong_types_are_named) {
  EXPECT_PROBLEM(loaded_with("msg_save_days: four\n"), "config.yaml", "msg_save_days",
                 "must be an integer");
  EXPECT_PROBLEM(loaded_with("msg_save_days: 1.5\n"), "config.yaml", "msg_save_days",
                 "must be an integer");
  EXPECT_PROBLEM(loaded_with("trusted_proxies: 10.0.0.1\n"), "config.yaml", "trusted_proxies",
                 "must be a list");
  EXPECT_PROBLEM(loaded_with("redis:\n  host: [a, b]\n"), "config.yaml", "redis.host",
                 "must be a string");
  EXPECT_PROBLEM(loaded_with("redis: 5\n"), "config.yaml", "redis", "must be a map");
  EXPECT_PROBLEM(loaded_with("disable_success_log: 2\n"), "config.yaml", "disable_success_log",
                 "must be true or false");
  config_dir d;
  d.write("config.yaml", "- a\n- b\n");
  EXPECT_PROBLEM(d.load(), "config.yaml", "", "must be a map");
}

TEST(config, wrong_type_in_a_list_entry) {
  config_dir d;
  d.write("config.yaml", "product_list:\n  - project: sds\n  - just-a-string\n");
  EXPECT_PROBLEM(d.load(), "config.yaml", "product_list[1]", "must be a map");
  EXPECT_PROBLEM(loaded_with("  - [x]\n"), "config.yaml", "command_list[1]", "must be a string");
}

TEST(config, disable_success_log_reads_bool_or_0_1) {
  EXPECT_FALSE(loaded_with("disable_success_log: 0\n").cfg->log.disable_success_log);
  EXPECT_FALSE(loaded_with("disable_success_log: false\n").cfg->log.disable_success_log);
  EXPECT_TRUE(loaded_with("disable_success_log: true\n").cfg->log.disable_success_log);
}

TEST(config, null_means_default) {
  auto r = loaded_with("msg_save_days:\nredis:\n  password:\n  port:\nlog:\ntrusted_proxies:\n");
  ASSERT_TRUE(r.cfg) << all_problems(r);
  EXPECT_EQ(r.cfg->msg_save_days, 4);
  EXPECT_EQ(r.cfg->redis.password, "");
  EXPECT_EQ(r.cfg->redis.port, 6379);
}

TEST(config, dmq_keys_are_read) {
  auto r = loaded_with(R"(http:
  listen: "::"
  max_connections: 7
redis:
  read_timeout: 3
  embedded: yes
  data_dir: /var/lib/dmq
  key_prefix: q1
limits:
  max_body_bytes: 1000
log:
  dir: logs
  level: debug
  rotate: size
trusted_proxies: [10.0.0.0/8, "::1"]
)");
  ASSERT_TRUE(r.cfg) << all_problems(r);
  const auto& s = *r.cfg;
  EXPECT_EQ(s.http.listen, "::");
  EXPECT_EQ(s.http.max_connections, 7);
  EXPECT_EQ(s.redis.read_timeout_ms, 3000);
  EXPECT_TRUE(s.redis.embedded);
  EXPECT_EQ(s.redis.data_dir, "/var/lib/dmq");
  EXPECT_EQ(s.redis.key_prefix, "q1");
  EXPECT_EQ(s.limits.max_body_bytes, 1000u);
  EXPECT_EQ(s.log.level, "debug");
  EXPECT_EQ(s.log.rotate, "size");
  EXPECT_TRUE(s.log.dir.is_absolute());
  EXPECT_EQ(s.log.dir.filename(), "logs");
  ASSERT_EQ(s.http.trusted_proxies.size(), 2u);
  EXPECT_TRUE(s.http.trusted_proxies[0].contains(*dmq::util::parse_ip("10.3.2.1")));
}

// ---- values out of range ----

TEST(config, bad_ports) {
  EXPECT_PROBLEM(loaded_with("http_port: 0\n"), "config.yaml", "http_port", "must be 1..65535");
  EXPECT_PROBLEM(loaded_with("redis:\n  port: 70000\n"), "config.yaml", "redis.port",
                 "must be 1..65535");
}

TEST(config, msg_save_days_is_at_least_one) {
  EXPECT_PROBLEM(loaded_with("msg_save_days: 0\n"), "config.yaml", "msg_save_days",
                 "must be 1..36500");
}

TEST(config, negative_timeouts_are_problems) {
  EXPECT_PROBLEM(loaded_with("redis:\n  read_timeout: -1\n"), "config.yaml", "redis.read_timeout",
                 "must be >= 1");
  EXPECT_PROBLEM(loaded_with("http:\n  idle_timeout_ms: -5\n"), "config.yaml",
                 "http.idle_timeout_ms", "must be >= 1");
  EXPECT_PROBLEM(loaded_with("redis:\n  min_retry_backoff: 500\n"), "config.yaml",
                 "redis.max_retry_backoff", "must be >= redis.min_retry_backoff");
}

TEST(config, key_written_twice_is_a_problem) {
  config_dir d;
  d.write("config.yaml", base_config)
      .write("commands/cmd-a.yaml", base_command + "    retry_times: 2\n");
  EXPECT_PROBLEM(d.load(), "commands/cmd-a.yaml", "consumer_list[0].retry_times", "appears twice");
  EXPECT_PROBLEM(loaded_with("msg_save_days: 1\nmsg_save_days: 2\n"), "config.yaml",
                 "msg_save_days", "appears twice");
}

TEST(config, negative_consumer_values_are_problems) {
  config_dir d;
  auto bad = std::string(base_command);
  bad.replace(bad.find("timeout: 600"), 12, "timeout: -600");
  bad.replace(bad.find("retry_times: 1"), 14, "retry_times: -1");
  bad.replace(bad.find("interval: 100"), 13, "interval: -100");
  d.write("config.yaml", base_config).write("commands/cmd-a.yaml", bad);
  auto r = d.load();
  EXPECT_PROBLEM(r, "commands/cmd-a.yaml", "consumer_list[0].timeout", "must be >= 1");
  EXPECT_PROBLEM(r, "commands/cmd-a.yaml", "consumer_list[0].retry_times", "must be >= 0");
  EXPECT_PROBLEM(r, "commands/cmd-a.yaml", "consumer_list[0].interval", "must be >= 0");
}

TEST(config, enum_values_are_checked) {
  EXPECT_PROBLEM(loaded_with("log:\n  level: loud\n"), "config.yaml", "log.level",
                 "must be one of trace, debug, info, warn, error, critical, off");
  EXPECT_PROBLEM(loaded_with("log:\n  rotate: weekly\n"), "config.yaml", "log.rotate",
                 "must be one of hourly, daily, size");
  EXPECT_PROBLEM(loaded_with("redis:\n  appendfsync: sometimes\n"), "config.yaml",
                 "redis.appendfsync", "must be one of always, everysec, no");
}

TEST(config, key_prefix_and_listen_and_header_are_checked) {
  EXPECT_PROBLEM(loaded_with("redis:\n  key_prefix: \"a:b\"\n"), "config.yaml", "redis.key_prefix",
                 "must not contain");
  EXPECT_PROBLEM(loaded_with("redis:\n  key_prefix: \"\"\n"), "config.yaml", "redis.key_prefix",
                 "must not be empty");
  EXPECT_PROBLEM(loaded_with("http:\n  listen: localhost\n"), "config.yaml", "http.listen",
                 "must be an IP address");
  EXPECT_PROBLEM(loaded_with("request_trace_id_key: \"Request Id\"\n"), "config.yaml",
                 "request_trace_id_key", "must be a valid HTTP header name");
}

// ---- producers and addresses ----

TEST(config, bad_ip_in_allow_ip) {
  config_dir d;
  d.write("config.yaml",
          "product_list:\n  - project: sds\n  - project: svs\n"
          "    allow_ip: [127.0.0.1, 300.1.1.1]\n");
  EXPECT_PROBLEM(d.load(), "config.yaml", "product_list[1].allow_ip[1]",
                 "not an IP address or CIDR range: '300.1.1.1'");
}

TEST(config, bad_cidr_in_trusted_proxies) {
  EXPECT_PROBLEM(loaded_with("trusted_proxies: [10.0.0.0/33]\n"), "config.yaml",
                 "trusted_proxies[0]", "not an IP address or CIDR range");
}

TEST(config, allow_ip_takes_cidr_ranges) {
  config_dir d;
  d.write("config.yaml", "product_list:\n  - project: p\n    allow_ip: [10.0.0.0/8, fd00::/8]\n");
  auto r = d.load();
  ASSERT_TRUE(r.cfg) << all_problems(r);
  const auto* p = r.cfg->find_producer("p");
  ASSERT_TRUE(p);
  ASSERT_EQ(p->allow_ip.size(), 2u);
  EXPECT_TRUE(p->allow_ip[0].contains(*dmq::util::parse_ip("10.20.30.40")));
  EXPECT_FALSE(p->allow_ip[0].contains(*dmq::util::parse_ip("11.0.0.1")));
  EXPECT_TRUE(p->allow_ip[1].contains(*dmq::util::parse_ip("fd00::5")));
  EXPECT_EQ(r.cfg->find_producer("q"), nullptr);
}

TEST(config, empty_producer_project) {
  config_dir d;
  d.write("config.yaml", "product_list:\n  - project: \"\"\n  - allow_ip: [127.0.0.1]\n");
  auto r = d.load();
  EXPECT_PROBLEM(r, "config.yaml", "product_list[0].project", "must not be empty");
  EXPECT_PROBLEM(r, "config.yaml", "product_list[1].project", "is required");
}

TEST(config, duplicate_producer_project) {
  auto r = loaded_with("  - x.yaml\nproduct_list:\n  - project: sds\n  - project: sds\n");
  EXPECT_PROBLEM(r, "config.yaml", "product_list", "appears twice");
  config_dir d;
  d.write("config.yaml", "product_list:\n  - project: sds\n  - project: svs\n  - project: sds\n");
  EXPECT_PROBLEM(d.load(), "config.yaml", "product_list[2].project",
                 "duplicate project 'sds' (also product_list[0])");
}

TEST(config, shards_are_read_and_bounded) {
  config_dir d;
  d.write("config.yaml", "product_list:\n  - project: sds\n    shards: 9\n  - project: svs\n");
  auto r = d.load();
  ASSERT_TRUE(r.cfg) << (r.problems.empty() ? "" : r.problems[0].to_string());
  EXPECT_EQ(r.cfg->producers[0].shards, 9);
  EXPECT_EQ(r.cfg->producers[1].shards, 1) << "the default: today's one tag";
  config_dir bad;
  bad.write("config.yaml", "product_list:\n  - project: sds\n    shards: 0\n");
  EXPECT_PROBLEM(bad.load(), "config.yaml", "product_list[0].shards", "must be 1..64");
}

// A project named like another's shard would share that shard's keys ({a~1}).
TEST(config, a_project_named_like_a_shard_is_refused) {
  config_dir d;
  d.write("config.yaml",
          "product_list:\n  - project: a\n    shards: 3\n  - project: a~2\n  - project: b~1\n");
  auto r = d.load();
  EXPECT_PROBLEM(r, "config.yaml", "product_list[1].project",
                 "project 'a~2' might share its keys with a shard of project 'a' "
                 "(product_list[0].shards): names starting with 'a~' are its shards'");
  EXPECT_EQ(r.problems.size(), 1u) << "b has one shard: b~1 is a name like any other";
}

// ---- commands and consumers ----

TEST(config, empty_required_command_values) {
  config_dir d;
  d.write("config.yaml", base_config)
      .write("commands/cmd-a.yaml",
             "project: \"\"\nconsumer_list:\n  - host: \"\"\n    name:\n    path: /x\n"
             "  - host: h\n    name: n\n");
  auto r = d.load();
  EXPECT_PROBLEM(r, "commands/cmd-a.yaml", "project", "must not be empty");
  EXPECT_PROBLEM(r, "commands/cmd-a.yaml", "command", "is required");
  EXPECT_PROBLEM(r, "commands/cmd-a.yaml", "consumer_list[0].host", "must not be empty");
  EXPECT_PROBLEM(r, "commands/cmd-a.yaml", "consumer_list[0].name", "must not be empty");
  EXPECT_PROBLEM(r, "commands/cmd-a.yaml", "consumer_list[1].path", "is required");
}

TEST(config, consumer_path_starts_with_a_slash) {
  config_dir d;
  auto bad = std::string(base_command);
  bad.replace(bad.find("/api/a"), 6, "api/a");
  d.write("config.yaml", base_config).write("commands/cmd-a.yaml", bad);
  EXPECT_PROBLEM(d.load(), "commands/cmd-a.yaml", "consumer_list[0].path", "must start with '/'");
}

TEST(config, command_needs_a_consumer) {
  config_dir d;
  d.write("config.yaml", base_config)
      .write("commands/cmd-a.yaml", "project: sds\ncommand: c\nconsumer_list: []\n");
  EXPECT_PROBLEM(d.load(), "commands/cmd-a.yaml", "consumer_list",
                 "must list at least one consumer");
  d.write("commands/cmd-a.yaml", "project: sds\ncommand: c\nconsumer_list:\n");
  EXPECT_PROBLEM(d.load(), "commands/cmd-a.yaml", "consumer_list",
                 "must list at least one consumer");
}

TEST(config, duplicate_consumer_name_across_files) {
  config_dir d;
  with_base(d, "  - cmd-b.yaml\n").write("commands/cmd-b.yaml", command_file("svs", "b", "first"));
  EXPECT_PROBLEM(d.load(), "commands/cmd-b.yaml", "consumer_list[0].name",
                 "duplicate consumer name 'first' (also commands/cmd-a.yaml "
                 "consumer_list[0].name)");
}

TEST(config, duplicate_command_across_files) {
  config_dir d;
  with_base(d, "  - cmd-b.yaml\n")
      .write("commands/cmd-b.yaml", command_file("sds", "sds:create:order", "second"));
  EXPECT_PROBLEM(d.load(), "commands/cmd-b.yaml", "command",
                 "duplicate command 'sds:create:order' (also in commands/cmd-a.yaml)");
}

TEST(config, command_project_must_be_a_producer) {
  config_dir d;
  with_base(d, "  - cmd-b.yaml\n").write("commands/cmd-b.yaml", command_file("xyz", "b", "b"));
  EXPECT_PROBLEM(d.load(), "commands/cmd-b.yaml", "project",
                 "project 'xyz' is not in product_list");
}

// ---- reporting ----

TEST(config, every_problem_is_reported_at_once) {
  config_dir d;
  d.write("config.yaml", base_config +
                             "  - cmd-b.yaml\n  - cmd-none.yaml\nhttp_port: -1\n"
                             "redis:\n  port: x\nlog:\n  level: loud\n")
      .write("commands/cmd-a.yaml", base_command)
      .write("commands/cmd-b.yaml", command_file("nope", "sds:create:order", "first"));
  auto r = d.load();
  EXPECT_FALSE(r.cfg);
  EXPECT_EQ(r.problems.size(), 7u) << all_problems(r);
  EXPECT_PROBLEM(r, "config.yaml", "http_port", "must be 1..65535");
  EXPECT_PROBLEM(r, "config.yaml", "redis.port", "must be an integer");
  EXPECT_PROBLEM(r, "config.yaml", "log.level", "must be one of");
  EXPECT_PROBLEM(r, "config.yaml", "command_list[2]", "not found");
  EXPECT_PROBLEM(r, "commands/cmd-b.yaml", "project", "not in product_list");
  EXPECT_PROBLEM(r, "commands/cmd-b.yaml", "command", "duplicate command");
  EXPECT_PROBLEM(r, "commands/cmd-b.yaml", "consumer_list[0].name", "duplicate consumer name");
}

TEST(config, unknown_keys_are_problems_naming_file_and_key) {
  config_dir d;
  d.write("config.yaml", base_config + "foo: 1\nredis:\n  colour: red\n")
      .write("commands/cmd-a.yaml", base_command + "    weight: 3\n");
  auto r = d.load();
  EXPECT_FALSE(r.cfg);
  EXPECT_PROBLEM(r, "config.yaml", "foo", "unknown key");
  EXPECT_PROBLEM(r, "config.yaml", "redis.colour", "unknown key");
  EXPECT_PROBLEM(r, "commands/cmd-a.yaml", "consumer_list[0].weight", "unknown key");
  EXPECT_EQ(r.problems.size(), 3u) << all_problems(r);  // all at once
  EXPECT_TRUE(r.notes.empty());
}

TEST(config, a_typo_of_a_key_suggests_the_key) {
  config_dir d;
  auto cmd = std::string(base_command);
  cmd.replace(cmd.find("retry_times: 1"), 14, "retry_time: 1");
  d.write("config.yaml", base_config + "redis:\n  appendfsinc: always\nmsg_save_day: 3\n")
      .write("commands/cmd-a.yaml", cmd);
  auto r = d.load();
  EXPECT_FALSE(r.cfg);
  EXPECT_PROBLEM(r, "commands/cmd-a.yaml", "consumer_list[0].retry_time",
                 "unknown key (did you mean 'consumer_list[0].retry_times'?)");
  EXPECT_PROBLEM(r, "config.yaml", "redis.appendfsinc",
                 "unknown key (did you mean 'redis.appendfsync'?)");
  EXPECT_PROBLEM(r, "config.yaml", "msg_save_day", "(did you mean 'msg_save_days'?)");
}

TEST(config, a_key_in_the_wrong_section_suggests_where_it_belongs) {
  EXPECT_PROBLEM(loaded_with("appendfsync: always\n"), "config.yaml", "appendfsync",
                 "unknown key (did you mean 'redis.appendfsync'?)");
  EXPECT_PROBLEM(loaded_with("rediss:\n  port: 1\n"), "config.yaml", "rediss",
                 "unknown key (did you mean 'redis'?)");
}

TEST(config, an_unknown_key_far_from_every_known_one_suggests_nothing) {
  auto r = loaded_with("completely_different: 1\n");
  EXPECT_PROBLEM(r, "config.yaml", "completely_different", "unknown key");
  EXPECT_FALSE(has_problem(r, "config.yaml", "completely_different", "did you mean"))
      << all_problems(r);
}

TEST(config, an_empty_config_yaml_is_a_problem) {
  config_dir d;
  d.write("config.yaml", "");
  EXPECT_PROBLEM(d.load(), "config.yaml", "", "is empty");
  d.write("config.yaml", "# only comments\n# http_port: 8989\n");
  auto r = d.load();
  EXPECT_FALSE(r.cfg);
  EXPECT_PROBLEM(r, "config.yaml", "", "is empty");
}

TEST(config, allow_eviction_is_off_unless_set) {
  auto off = loaded_with("");
  ASSERT_TRUE(off.cfg) << all_problems(off);
  EXPECT_FALSE(off.cfg->redis.allow_eviction);
  auto on = loaded_with("redis:\n  allow_eviction: true\n");
  ASSERT_TRUE(on.cfg) << all_problems(on);
  EXPECT_TRUE(on.cfg->redis.allow_eviction);
}

TEST(config, edit_distance_counts_typos) {
  using dmq::config::edit_distance;
  EXPECT_EQ(edit_distance("appendfsinc", "appendfsync"), 1u);
  EXPECT_EQ(edit_distance("retry_time", "retry_times"), 1u);
  EXPECT_EQ(edit_distance("retyr", "retry"), 1u);  // two neighbours swapped
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("same", "same"), 0u);
  EXPECT_EQ(dmq::config::nearest_key("prot", {"port", "host"}), "port");
  EXPECT_EQ(dmq::config::nearest_key("zzzzzz", {"port", "host"}), std::nullopt);
}

TEST(config, problem_to_string) {
  EXPECT_EQ((problem{"config.yaml", "redis.port", "must be 1..65535"}).to_string(),
            "config.yaml: redis.port: must be 1..65535");
  EXPECT_EQ((problem{"config.yaml", "", "not found"}).to_string(), "config.yaml: not found");
}

TEST(config, reference_mentions_every_key) {
  auto ref = dmq::config::reference();
  for (auto key : {"http.listen",
                   "http.read_timeout_ms",
                   "http.idle_timeout_ms",
                   "http.shutdown_timeout_ms",
                   "http.max_connections",
                   "trusted_proxies",
                   "redis.embedded",
                   "redis.data_dir",
                   "redis.appendfsync",
                   "redis.server_path",
                   "redis.key_prefix",
                   "redis.allow_eviction",
                   "redis.connect_timeout_ms",
                   "limits.max_body_bytes",
                   "limits.max_batch_items",
                   "limits.max_params_bytes",
                   "limits.max_field_bytes",
                   "limits.max_solved_ids",
                   "limits.max_pending_list",
                   "log.dir",
                   "log.rotate",
                   "log.max_files",
                   "log.max_size_mb",
                   "log.level",
                   "http_port",
                   "product_list",
                   "msg_save_days",
                   "request_trace_id_key",
                   "disable_success_log",
                   "redis.read_timeout",
                   "command_list",
                   "consumer_list[].interval",
                   "get_point_sleep"})
    EXPECT_NE(ref.find(key), std::string::npos) << key;
}

TEST(config, docs_hold_the_reference_verbatim) {
  std::ifstream in(fs::path(DMQ_SOURCE_DIR) / "docs/configuration.md");
  std::stringstream doc;
  doc << in.rdbuf();
  EXPECT_NE(doc.str().find(dmq::config::reference()), std::string::npos)
      << "docs/configuration.md is stale: paste the output of `dmq config-reference` into it";
}

}  // namespace
