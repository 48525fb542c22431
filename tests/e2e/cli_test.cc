// cli_test: the dmq binary's subcommands as an operator runs them - check, server, --help -
// and what `dmq client` does with a broken config or an unreachable Redis.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "fixture.h"

namespace dmq::e2e {
namespace {

namespace fs = std::filesystem;

struct run_result {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// run starts `dmq args` through the shell and returns its exit code and output.
run_result run(const std::string& args) {
  run_result out;
  std::string cmd = std::string("timeout 20 ") + DMQ_BINARY + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.output.append(buf, n);
  int status = ::pclose(p);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

// scratch_dir: a temporary directory for one test's config files.
struct scratch_dir {
  fs::path path =
      fs::temp_directory_path() / ("dmq-cli-" + std::to_string(::getpid()) + "-" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  scratch_dir() { fs::create_directories(path / "commands"); }
  ~scratch_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  void write(const std::string& name, const std::string& content) const {
    std::ofstream(path / name) << content;
  }
};

TEST(cli_test, check_accepts_the_seeds_configuration) {
  auto r = run(std::string("check ") + DMQ_SOURCE_DIR + "/tests/fixtures/seed-config");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("configuration OK (2 producers, 1 commands)"), std::string::npos)
      << r.output;
  // The seed's tuning keys dmq has no use for are named, not silently dropped.
  EXPECT_NE(r.output.find("get_point_sleep"), std::string::npos) << r.output;
}

TEST(cli_test, check_lists_every_problem_with_file_key_and_reason) {
  scratch_dir d;
  d.write("config.yaml", R"(http_port: 0
product_list:
  - project: sds
    allow_ip: [not-an-ip]
redis:
  port: 99999
limits:
  max_batch_items: -1
command_list:
  - missing.yaml
  - cmd-bad.yaml
)");
  d.write("commands/cmd-bad.yaml", R"(project: nobody
command: nobody:do:thing
consumer_list:
  - host: 127.0.0.1:1
    name: c1
    path: /x
    timeout: -5
)");
  auto r = run("check " + d.path.string());
  EXPECT_NE(r.exit_code, 0) << r.output;
  for (const char* expected : {
           "config.yaml: http_port: must be 1..65535",
           "config.yaml: product_list[0].allow_ip[0]: not an IP address or CIDR range: "
           "'not-an-ip'",
           "config.yaml: redis.port: must be 1..65535",
           "config.yaml: limits.max_batch_items: must be >= 1",
           "config.yaml: command_list[0]: command file 'missing.yaml' not found",
           "cmd-bad.yaml",
       })
    EXPECT_NE(r.output.find(expected), std::string::npos) << expected << "\n" << r.output;
  // The command file's own problems name its keys too.
  EXPECT_NE(r.output.find("timeout"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("nobody"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("configuration OK"), std::string::npos) << r.output;
}

TEST(cli_test, check_of_a_missing_directory_fails) {
  auto r = run("check /nonexistent/dmq-config");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("config.yaml"), std::string::npos) << r.output;
}

TEST(cli_test, check_of_unparsable_yaml_fails_naming_the_file) {
  scratch_dir d;
  d.write("config.yaml", "http_port: [1,\nproduct_list: {\n");
  auto r = run("check " + d.path.string());
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("config.yaml"), std::string::npos) << r.output;
}

TEST(cli_test, server_without_redis_exits_non_zero_saying_why) {
  auto dir = dmq::test::make_config_dir(dmq::test::free_port(), dmq::test::free_port());
  auto r = run("server " + dir);
  dmq::test::remove_config_dir(dir);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("cannot reach redis"), std::string::npos) << r.output;
}

TEST(cli_test, help_names_the_subcommands) {
  auto r = run("--help");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (const char* sub : {"client", "server", "run", "check"})
    EXPECT_NE(r.output.find(sub), std::string::npos) << sub << "\n" << r.output;
}

TEST(cli_test, no_subcommand_or_an_unknown_one_is_a_usage_error) {
  auto alone = run("");
  EXPECT_EQ(alone.exit_code, 2) << alone.output;
  EXPECT_NE(alone.output.find("Subcommands:"), std::string::npos) << "dmq alone prints help";
  EXPECT_EQ(run("frobnicate /tmp").exit_code, 2);
  EXPECT_EQ(run("client").exit_code, 2);  // CONFIG_DIR is required
}

TEST(cli_test, version_names_the_release) {
  auto r = run("--version");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, std::string("dmq ") + DMQ_VERSION_TEXT + "\n");
}

TEST(cli_test, config_reference_lists_the_keys) {
  auto r = run("config-reference");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (const char* key : {"http_port", "limits.max_body_bytes", "http.read_timeout_ms",
                          "trusted_proxies", "redis.key_prefix"})
    EXPECT_NE(r.output.find(key), std::string::npos) << key;
}

TEST(cli_test, client_with_a_broken_config_exits_listing_the_problems) {
  scratch_dir d;
  d.write("config.yaml", "http_port: 70000\nredis:\n  port: 0\n");
  auto r = run("client " + d.path.string());
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("http_port"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("redis.port"), std::string::npos) << r.output;
}

TEST(cli_test, client_without_redis_exits_saying_so) {
  int dead_port = test::free_port();  // nothing listens there
  auto dir = test::make_config_dir(dead_port, test::free_port(), "");
  {  // connect fast: the default is 2 s
    std::ifstream in(dir + "/config.yaml");
    std::stringstream ss;
    ss << in.rdbuf();
    auto yaml = ss.str();
    ASSERT_TRUE(replace_once(yaml, "redis:\n", "redis:\n  connect_timeout_ms: 200\n"));
    std::ofstream(dir + "/config.yaml", std::ios::trunc) << yaml;
  }
  auto t0 = std::chrono::steady_clock::now();
  auto r = run("client " + dir);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cannot reach redis"), std::string::npos) << r.output;
  test::remove_config_dir(dir);
}

TEST(cli_test, run_serves_the_api_too) {
  test::redis_server redis;
  int port = test::free_port();
  auto dir = test::make_config_dir(redis.port(), port);
  {
    auto p = start_dmq(dir, port, "run");
    auto r = test::call(port, "POST", "/api/message/single", text(order()));
    EXPECT_EQ(r.code(), 0) << r.body;
    EXPECT_EQ(p->stop(), 0);
  }
  test::remove_config_dir(dir);
}

}  // namespace
}  // namespace dmq::e2e
