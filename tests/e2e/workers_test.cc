// workers_test: every core (docs/scaling.md). http.reuse_port lets several dmq processes
// serve one port; `workers: N` / `--workers N` runs N processes under a parent
// (app/supervisor.h) that restarts a dead child, passes signals on, starts the embedded
// Redis once and stops last. Which process answered is told by the id node in the ids it
// issued: every process leases its own (docs/storage.md).
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "delivery_fixture.h"

namespace dmq::e2e {
namespace {

namespace fs = std::filesystem;

// with_http adds lines under the http: section of the config in dir.
void with_http(const std::string& dir, const std::string& lines) {
  std::ifstream in(dir + "/config.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  auto yaml = ss.str();
  ASSERT_TRUE(
      replace_once(yaml, "http:\n  listen: 127.0.0.1\n", "http:\n  listen: 127.0.0.1\n" + lines));
  std::ofstream(dir + "/config.yaml", std::ios::trunc) << yaml;
}

// nodes_answering posts n messages, each on a new connection, and returns the id nodes of
// the ids answered: one per process that answered. A failed POST fails the test.
std::set<int> nodes_answering(int port, int n) {
  std::set<int> nodes;
  for (int i = 0; i < n; ++i) {
    auto r = test::call(port, "POST", "/api/message/single", text(order("b" + std::to_string(i))));
    EXPECT_EQ(r.code(), 0) << r.body;
    if (r.code() == 0) nodes.insert(node_of(id_of(r)));
  }
  return nodes;
}

// answered_by_both says whether, within a bound, two processes answer on port.
bool answered_by_both(int port) {
  return test::wait_until([&] { return nodes_answering(port, 20).size() >= 2; }, 10s);
}

// workers_of returns the pids of the supervisor's children (`dmq ... --worker K`).
std::vector<pid_t> workers_of(pid_t parent) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(parent) + "/task", ec)) {
    std::ifstream in(task.path() / "children");
    for (pid_t pid; in >> pid;) {
      std::ifstream cmd("/proc/" + std::to_string(pid) + "/cmdline");
      std::string line((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
      if (line.find("--worker") != std::string::npos) out.push_back(pid);
    }
  }
  return out;
}

bool gone(pid_t pid) {
  return !fs::exists("/proc/" + std::to_string(pid));
}

// wait_workers waits until parent has n children that serve (ready_for_messages: both
// answer, as far as the port tells) and returns their pids.
std::vector<pid_t> wait_workers(pid_t parent, std::size_t n) {
  std::vector<pid_t> pids;
  test::wait_until([&] { return (pids = workers_of(parent)).size() == n; }, 10s);
  return pids;
}

// redis_pid returns the pid of the embedded redis-server (data/redis/redis.pid), 0 if none.
pid_t redis_pid(const std::string& dir) {
  std::ifstream in(dir + "/data/redis/redis.pid");
  pid_t pid = 0;
  in >> pid;
  return pid;
}

// launched: `dmq` with any arguments, stderr and stdout in a file (dmq_process runs only
// `dmq SUBCOMMAND DIR`).
class launched {
 public:
  launched(const std::vector<std::string>& args, std::string log) : log_(std::move(log)) {
    pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> argv{const_cast<char*>(DMQ_BINARY)};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(DMQ_BINARY, argv.data());
      ::_exit(127);
    }
  }
  ~launched() {
    if (code_ < 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  launched(const launched&) = delete;
  launched& operator=(const launched&) = delete;
  pid_t pid() const { return pid_; }
  int wait_exit(std::chrono::milliseconds bound) {
    test::wait_until(
        [&] {
          int status = 0;
          if (code_ < 0 && ::waitpid(pid_, &status, WNOHANG) == pid_)
            code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
          return code_ >= 0;
        },
        bound);
    return code_;
  }
  std::string log() const {
    std::ifstream in(log_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
  int code_ = -1;
};

class workers_test : public ::testing::Test {
 protected:
  void TearDown() override { test::remove_config_dir(dir); }

  test::redis_server redis;
  int port = test::free_port();
  std::string dir;
};

TEST_F(workers_test, with_reuse_port_two_clients_serve_one_port) {
  dir = test::make_config_dir(redis.port(), port);
  with_http(dir, "  reuse_port: true\n");
  auto first = start_dmq(dir, port, "client");
  auto second = start_dmq(dir, port, "client");
  EXPECT_TRUE(test::listening_pid_has(first->pid(), port));
  EXPECT_TRUE(test::listening_pid_has(second->pid(), port));
  // The kernel spreads new connections over both: each answers some.
  EXPECT_TRUE(answered_by_both(port)) << first->log() << second->log();
  // One stopping leaves the other serving the port alone.
  EXPECT_EQ(first->stop(), 0) << first->log();
  EXPECT_EQ(nodes_answering(port, 20).size(), 1u);
  EXPECT_EQ(second->stop(), 0) << second->log();
}

TEST_F(workers_test, without_reuse_port_a_second_client_cannot_bind_and_says_why) {
  dir = test::make_config_dir(redis.port(), port);
  auto first = start_dmq(dir, port, "client");
  test::dmq_process second(dir, port, "client", false);
  EXPECT_EQ(second.wait_exit(15000), 1) << second.log();
  EXPECT_NE(second.log().find("Address already in use"), std::string::npos) << second.log();
  EXPECT_NE(second.log().find("http.reuse_port: true"), std::string::npos) << second.log();
  EXPECT_TRUE(ready_for_messages(port));
  EXPECT_EQ(first->stop(), 0) << first->log();
}

TEST_F(workers_test, two_workers_serve_one_port_and_a_killed_one_is_restarted) {
  dir = test::make_config_dir(redis.port(), port, "workers: 2\n");
  test::dmq_process parent(dir, port, "run", false);
  ASSERT_TRUE(test::wait_until([&] { return ready_for_messages(port); }, 10s)) << parent.log();
  auto pids = wait_workers(parent.pid(), 2);
  ASSERT_EQ(pids.size(), 2u) << parent.log();
  // Neither the parent nor anyone else but the two children listens on the port.
  EXPECT_FALSE(test::listening_pid_has(parent.pid(), port));
  EXPECT_TRUE(answered_by_both(port)) << parent.log();

  ::kill(pids[0], SIGKILL);
  ASSERT_TRUE(test::wait_until([&] { return gone(pids[0]); }, 5s));
  // The other child keeps answering every request meanwhile.
  EXPECT_EQ(nodes_answering(port, 20).size(), 1u);
  // The parent starts a new child, which serves too.
  std::vector<pid_t> now;
  EXPECT_TRUE(test::wait_until(
      [&] {
        now = workers_of(parent.pid());
        return now.size() == 2 && std::find(now.begin(), now.end(), pids[0]) == now.end();
      },
      10s))
      << parent.log();
  EXPECT_NE(std::find(now.begin(), now.end(), pids[1]), now.end());
  EXPECT_TRUE(answered_by_both(port)) << parent.log();
  EXPECT_NE(parent.log().find("exited unexpectedly: signal Killed"), std::string::npos)
      << parent.log();
  EXPECT_NE(parent.log().find("restart 1 since dmq started"), std::string::npos) << parent.log();

  EXPECT_EQ(parent.stop(), 0) << parent.log();
  for (auto pid : now) EXPECT_TRUE(gone(pid)) << pid;
}

TEST_F(workers_test, sigterm_on_the_parent_stops_every_worker_in_order) {
  dir = test::make_config_dir(redis.port(), port);
  launched parent({"client", dir, "--workers", "3"}, dir + "/parent.log");
  ASSERT_TRUE(test::wait_until([&] { return ready_for_messages(port); }, 10s)) << parent.log();
  auto pids = wait_workers(parent.pid(), 3);
  ASSERT_EQ(pids.size(), 3u) << parent.log();
  ASSERT_TRUE(test::wait_until([&] {
    return std::all_of(pids.begin(), pids.end(),
                       [&](pid_t pid) { return test::listening_pid_has(pid, port); });
  })) << parent.log();
  ::kill(parent.pid(), SIGTERM);
  EXPECT_EQ(parent.wait_exit(20s), 0) << parent.log();
  for (auto pid : pids) EXPECT_TRUE(gone(pid)) << pid;
  // Each child stopped by itself, in order (dmq's own last line), none was killed.
  auto log = parent.log();
  std::size_t stopped = 0;
  for (auto at = log.find("stopped (exit code 0)"); at != std::string::npos;
       at = log.find("stopped (exit code 0)", at + 1))
    ++stopped;
  EXPECT_EQ(stopped, 3u + 1u) << log;  // three children and the parent
  EXPECT_EQ(log.find("killing it"), std::string::npos) << log;
  EXPECT_FALSE(ready_for_messages(port));
}

TEST_F(workers_test, a_stop_while_the_workers_start_is_a_clean_stop) {
  dir = test::make_config_dir(redis.port(), port);
  launched parent({"run", dir, "--workers", "2"}, dir + "/parent.log");
  auto pids = wait_workers(parent.pid(), 2);
  ASSERT_EQ(pids.size(), 2u) << parent.log();
  ::kill(parent.pid(), SIGTERM);  // the children may still be starting
  EXPECT_EQ(parent.wait_exit(20s), 0) << parent.log();
  for (auto pid : pids) EXPECT_TRUE(gone(pid)) << pid;
}

TEST_F(workers_test, workers_that_cannot_start_stop_dmq_with_their_exit_code) {
  int nobody = test::free_port();  // no Redis there
  dir = test::make_config_dir(nobody, port, "workers: 2\n");
  std::ifstream in(dir + "/config.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  auto yaml = ss.str();
  ASSERT_TRUE(replace_once(yaml, "redis:\n", "redis:\n  connect_timeout_ms: 200\n"));
  std::ofstream(dir + "/config.yaml", std::ios::trunc) << yaml;
  test::dmq_process parent(dir, port, "run", false);
  EXPECT_EQ(parent.wait_exit(20000), 1) << parent.log();
  EXPECT_NE(parent.log().find("failed to start"), std::string::npos) << parent.log();
  EXPECT_EQ(parent.log().find("restarting"), std::string::npos) << parent.log();
}

TEST_F(workers_test, messages_sent_to_either_worker_are_delivered_once) {
  test::consumer_endpoint consumer;
  consumer_conf dgfa{"dgfa", "/dgfa/createorder", "", default_timeout_ms, 3, 200, {}};
  dir = write_delivery_config(redis.port(), port, consumer.port(), {dgfa}, "workers: 2\n");
  test::dmq_process parent(dir, port, "run", false);
  ASSERT_TRUE(test::wait_until([&] { return ready_for_messages(port); }, 10s)) << parent.log();
  ASSERT_EQ(wait_workers(parent.pid(), 2).size(), 2u) << parent.log();
  std::set<std::uint64_t> sent;
  std::set<int> nodes;
  for (int i = 0; i < 200; ++i) {
    auto r = test::call(port, "POST", "/api/message/single", text(order("b" + std::to_string(i))));
    ASSERT_EQ(r.code(), 0) << r.body;
    sent.insert(id_of(r));
    nodes.insert(node_of(id_of(r)));
  }
  EXPECT_EQ(nodes.size(), 2u) << "both workers took messages";
  EXPECT_TRUE(consumer.wait_for_distinct("/dgfa/", sent.size(), 20s)) << parent.log();
  // Every status is done (both dispatchers acknowledged), then nothing more arrives.
  EXPECT_TRUE(test::wait_until(
      [&] {
        for (auto id : sent)
          if (record_field(redis, "dmq:{sds}:m:" + std::to_string(id), "dgfa") != "done")
            return false;
        return true;
      },
      10s));
  auto got = consumer.ids_received("/dgfa/");
  for (auto id : sent) EXPECT_EQ(got.count(id), 1u) << id;
  EXPECT_EQ(got.size(), sent.size());
  EXPECT_EQ(parent.stop(), 0) << parent.log();
}

TEST_F(workers_test, the_parent_runs_the_embedded_redis_once_and_it_outlives_a_killed_worker) {
  int redis_port = test::free_port();
  dir = test::make_config_dir(redis_port, port, "workers: 2\n");
  std::ifstream in(dir + "/config.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  auto yaml = ss.str();
  ASSERT_TRUE(replace_once(yaml, "redis:\n", "redis:\n  embedded: true\n"));
  std::ofstream(dir + "/config.yaml", std::ios::trunc) << yaml;

  test::dmq_process parent(dir, port, "run", false);
  ASSERT_TRUE(test::wait_until([&] { return ready_for_messages(port); }, 15s)) << parent.log();
  auto pids = wait_workers(parent.pid(), 2);
  ASSERT_EQ(pids.size(), 2u) << parent.log();
  pid_t server = redis_pid(dir);
  ASSERT_GT(server, 0);
  // The lock (and so the server) is the parent's: a child shares it.
  std::ifstream lock(dir + "/data/redis/dmq.lock");
  pid_t owner = 0;
  lock >> owner;
  EXPECT_EQ(owner, parent.pid());

  ::kill(pids[0], SIGKILL);
  ASSERT_TRUE(test::wait_until([&] { return gone(pids[0]); }, 5s));
  EXPECT_TRUE(test::wait_until(
      [&] {
        auto now = workers_of(parent.pid());
        return now.size() == 2 && std::find(now.begin(), now.end(), pids[0]) == now.end();
      },
      10s))
      << parent.log();
  EXPECT_EQ(redis_pid(dir), server);
  EXPECT_FALSE(gone(server));
  EXPECT_TRUE(answered_by_both(port)) << parent.log();

  EXPECT_EQ(parent.stop(), 0) << parent.log();
  EXPECT_TRUE(test::wait_until([&] { return gone(server); }, 5s)) << "stopped with the parent";
}

}  // namespace
}  // namespace dmq::e2e
