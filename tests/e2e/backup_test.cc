// backup_test: backing up and restoring the embedded Redis as docs/operations.md says, with
// its scripts: scripts/redis-backup.sh (BGSAVE while dmq runs, the RDB copied out), then
// the data_dir lost, scripts/redis-restore.sh (the RDB turned into the AOF dmq's
// redis-server loads), and dmq started again: the messages of the snapshot are back, the
// one saved after it is not, and new messages are taken.
#include <filesystem>

#include "fixture.h"

namespace dmq::e2e {
namespace {

namespace fs = std::filesystem;

// sh runs a command line (bounded by timeout(1)) and returns its exit code and output.
std::pair<int, std::string> sh(const std::string& line) {
  std::string out;
  FILE* p = ::popen(("timeout 120 " + line + " 2>&1").c_str(), "r");
  if (!p) return {-1, out};
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string script(const std::string& name) {
  return std::string(DMQ_SOURCE_DIR) + "/scripts/" + name;
}

class backup_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = test::make_config_dir(redis_port, port);
    std::ifstream in(dir + "/config.yaml");
    std::stringstream ss;
    ss << in.rdbuf();
    auto yaml = ss.str();
    ASSERT_TRUE(replace_once(yaml, "redis:\n", "redis:\n  embedded: true\n"));
    std::ofstream(dir + "/config.yaml", std::ios::trunc) << yaml;
    data = dir + "/data/redis";
    backups = dir + "/backups";
  }
  void TearDown() override { test::remove_config_dir(dir); }

  std::uint64_t save(std::int64_t delay_ms) {
    auto m = order();
    m["delay_ms"] = delay_ms;
    auto r = test::call(port, "POST", "/api/message/single", text(m));
    EXPECT_EQ(r.code(), 0) << r.body;
    return id_of(r);
  }
  std::string status(std::uint64_t id) {
    auto r = test::call(port, "GET",
                        "/api/message/status?msg_id=" + std::to_string(id) + "&consumer=dgfa");
    return r.data().is_string() ? std::string(r.data().as_string()) : r.body;
  }

  int redis_port = test::free_port();  // the embedded server's
  int port = test::free_port();
  std::string dir, data, backups;
};

TEST_F(backup_test, a_restored_rdb_brings_the_messages_of_the_snapshot_back) {
  std::vector<std::uint64_t> kept;
  std::uint64_t lost = 0;
  std::string backup;
  {
    test::dmq_process dmq(dir, port, "run");
    for (int i = 0; i < 20; ++i) kept.push_back(save(3600000));
    auto [rc, out] = sh(script("redis-backup.sh") + " --port " + std::to_string(redis_port) + " " +
                        data + " " + backups);
    ASSERT_EQ(rc, 0) << out;
    backup = out.substr(0, out.find('\n'));
    ASSERT_TRUE(fs::exists(backup)) << out;
    lost = save(3600000);  // after the snapshot: not in the backup
    EXPECT_EQ(status(lost), "waiting");
    // The restore refuses to run under a live dmq (it holds data_dir/dmq.lock).
    auto [busy, why] = sh(script("redis-restore.sh") + " " + backup + " " + data);
    EXPECT_EQ(busy, 1) << why;
    EXPECT_NE(why.find("stop it first"), std::string::npos) << why;
    EXPECT_EQ(dmq.stop(), 0) << dmq.log();
  }
  // The machine's data is lost; only the backup (and the config) remain.
  fs::remove_all(data);
  auto [rc, out] = sh(script("redis-restore.sh") + " " + backup + " " + data);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(fs::exists(data + "/appendonlydir")) << out;

  test::dmq_process dmq(dir, port, "run");
  for (auto id : kept) EXPECT_EQ(status(id), "waiting") << id << "\n" << dmq.log();
  auto d = test::call(
      port, "GET", "/api/message/detail?msg_id=" + std::to_string(kept.front()) + "&consumer=dgfa");
  EXPECT_EQ(d.code(), 0) << d.body;
  EXPECT_EQ(status(lost), "unknown");
  auto fresh = save(0);
  EXPECT_NE(fresh, 0U);
  for (auto id : kept) EXPECT_NE(id, fresh);
  EXPECT_EQ(dmq.stop(), 0) << dmq.log();
}

// Without the restore script, the RDB alone is ignored: the embedded server runs with
// appendonly yes, and Redis then loads (or creates) the AOF, never dump.rdb. This is why
// the script exists; the day a Redis loads it, the docs can say "copy it back".
TEST_F(backup_test, an_rdb_copied_into_data_dir_alone_is_not_loaded) {
  std::uint64_t id = 0;
  std::string backup;
  {
    test::dmq_process dmq(dir, port, "run");
    id = save(3600000);
    auto [rc, out] = sh(script("redis-backup.sh") + " --port " + std::to_string(redis_port) + " " +
                        data + " " + backups);
    ASSERT_EQ(rc, 0) << out;
    backup = out.substr(0, out.find('\n'));
    EXPECT_EQ(dmq.stop(), 0) << dmq.log();
  }
  fs::remove_all(data);
  fs::create_directories(data);
  fs::copy_file(backup, data + "/dump.rdb");
  test::dmq_process dmq(dir, port, "run");
  EXPECT_EQ(status(id), "unknown");
  EXPECT_EQ(dmq.stop(), 0) << dmq.log();
}

}  // namespace
}  // namespace dmq::e2e
