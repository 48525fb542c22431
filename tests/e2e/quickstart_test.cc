// quickstart_test: the README's first run, as scripts/quickstart.sh does it: `dmq
// demo-consumer` where the example configuration delivers, `dmq run` on a copy of config/
// (embedded Redis; only the ports changed, to free ones), and the README's first message,
// read from README.md itself: it must reach `done` for every consumer of its command.
// Also: the demo consumer's 503s (--fail-first) are retried to `done`, and dmq says on
// its terminal where it listens and that it stopped.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <filesystem>
#include <regex>

#include "fixture.h"

namespace dmq::e2e {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// replace_all replaces every `from` in s; returns how many there were.
int replace_all(std::string& s, const std::string& from, const std::string& to) {
  int n = 0;
  for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
    ++n;
  }
  return n;
}

// demo_consumer runs `dmq demo-consumer --listen 127.0.0.1:port [more]`, its output in a file.
class demo_consumer {
 public:
  demo_consumer(const std::string& dir, int port, const std::vector<std::string>& more = {})
      : port_(port), log_path_(dir + "/demo-consumer.out") {
    std::vector<std::string> args{DMQ_BINARY, "demo-consumer", "--listen",
                                  "127.0.0.1:" + std::to_string(port)};
    args.insert(args.end(), more.begin(), more.end());
    pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(DMQ_BINARY, argv.data());
      ::_exit(127);
    }
  }
  ~demo_consumer() {
    if (exit_code_ < 0 && pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  demo_consumer(const demo_consumer&) = delete;
  demo_consumer& operator=(const demo_consumer&) = delete;

  // up waits (bounded) until it answers GET and the socket on its port is its own.
  bool up() const {
    return test::wait_until([&] {
      try {
        return test::call(port_, "GET", "/").status == 200 && test::listening_pid_has(pid_, port_);
      } catch (...) {
        return false;
      }
    });
  }
  // stop sends SIGTERM and returns the exit code (-1 if it did not exit within 10 s).
  int stop() {
    ::kill(pid_, SIGTERM);
    test::wait_until([&] {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return true;
    });
    return exit_code_;
  }
  std::string log() const { return read_file(log_path_); }

 private:
  int port_;
  std::string log_path_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

// first_message returns the JSON body of the README's first message (section "A first
// message": `curl ... -d '{...}'`), so that the README's example is what is tested.
std::string first_message() {
  auto readme = read_file(fs::path(DMQ_SOURCE_DIR) / "README.md");
  auto section = readme.find("## A first message");
  if (section == std::string::npos) return {};
  auto from = readme.find("-d '", section);
  if (from == std::string::npos) return {};
  from += 4;
  auto to = readme.find('\'', from);
  return to == std::string::npos ? std::string{} : readme.substr(from, to - from);
}

std::uint64_t id_in(const http_reply& r) {
  auto d = r.data();
  if (d.is_string()) return std::stoull(std::string(d.as_string()));
  return d.is_uint64() ? d.as_uint64() : static_cast<std::uint64_t>(d.to_number<std::int64_t>());
}

class quickstart_test : public ::testing::Test {
 protected:
  // SetUp copies config/ with free ports; every port the example names must be replaced.
  void SetUp() override {
    dir = (fs::temp_directory_path() /
           ("dmq-quickstart-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name()))
              .string();
    fs::remove_all(dir);
    fs::create_directories(fs::path(dir) / "commands");
    fs::path src = fs::path(DMQ_SOURCE_DIR) / "config";
    auto yaml = read_file(src / "config.yaml");
    ASSERT_EQ(replace_all(yaml, "http_port: 8989", "http_port: " + std::to_string(api_port)), 1);
    ASSERT_EQ(replace_all(yaml, "port: 6380", "port: " + std::to_string(redis_port)), 1);
    ASSERT_NE(yaml.find("embedded: true"), std::string::npos);
    std::ofstream(fs::path(dir) / "config.yaml") << yaml;
    for (const auto& f : fs::directory_iterator(src / "commands")) {
      auto cmd = read_file(f.path());
      replace_all(cmd, "127.0.0.1:8959", "127.0.0.1:" + std::to_string(consumer_port));
      ASSERT_EQ(cmd.find("8959"), std::string::npos) << f.path();
      std::ofstream(fs::path(dir) / "commands" / f.path().filename()) << cmd;
    }
  }
  void TearDown() override { fs::remove_all(dir); }

  std::string status(std::uint64_t id, const std::string& consumer) {
    auto r =
        test::call(api_port, "GET",
                   "/api/message/status?msg_id=" + std::to_string(id) + "&consumer=" + consumer);
    return r.data().is_string() ? std::string(r.data().as_string()) : r.body;
  }

  // settled waits (bounded: 30 s) until consumer's status is done or failure; returns it.
  std::string settled(std::uint64_t id, const std::string& consumer) {
    std::string s;
    test::wait_until(
        [&] {
          s = status(id, consumer);
          return s == "done" || s == "failure";
        },
        30s);
    return s;
  }

  int api_port = test::free_port();
  int redis_port = test::free_port();
  int consumer_port = test::free_port();
  std::string dir;
};

TEST_F(quickstart_test, the_readmes_first_message_reaches_done_for_every_consumer) {
  auto body = first_message();
  ASSERT_FALSE(body.empty()) << "README.md: no `-d '...'` in section \"A first message\"";
  auto msg = json::parse(body).as_object();
  ASSERT_EQ(msg.at("cmd"), "sds:create:order");

  demo_consumer consumer(dir, consumer_port);
  ASSERT_TRUE(consumer.up()) << consumer.log();
  auto dmq = std::make_unique<test::dmq_process>(dir, api_port, "run");

  auto r = test::call(api_port, "POST", "/api/message/single", body);
  ASSERT_EQ(r.code(), 0) << r.body;
  auto id = id_in(r);
  // The README shows "waiting" right after: the message is due in delay_ms.
  EXPECT_EQ(status(id, "dgfa"), "waiting");
  for (const std::string c : {"dgfa", "fghyds"}) {  // the consumers of sds:create:order
    EXPECT_EQ(settled(id, c), "done") << c << "\ndmq:\n"
                                      << dmq->log() << "\ndemo consumer:\n"
                                      << consumer.log();
  }
  // One line per delivery, with the dispatcher's headers and the body.
  auto log = consumer.log();
  auto line = "X-Dmq-Message-Id: " + std::to_string(id) + ", X-Dmq-Attempt: 1";
  EXPECT_EQ(replace_all(log, line, line), 2) << log;
  EXPECT_NE(log.find(std::string(msg.at("params").as_string()) + " -> 200"), std::string::npos)
      << log;

  // On its terminal (log.dir is set, so the console shows warnings only) dmq still says
  // where it listens and that it stopped.
  EXPECT_EQ(dmq->stop(), 0);
  auto said = dmq->log();
  auto base = "http://127.0.0.1:" + std::to_string(api_port);
  EXPECT_NE(said.find("dashboard " + base + "/ui/"), std::string::npos) << said;
  EXPECT_NE(said.find("metrics " + base + "/metrics"), std::string::npos) << said;
  EXPECT_NE(said.find("logging to " + dir + "/logs/dmq-run.log"), std::string::npos) << said;
  EXPECT_NE(said.find("stopped (exit code 0)"), std::string::npos) << said;
  EXPECT_EQ(consumer.stop(), 0);
  EXPECT_NE(consumer.log().find("stopped: 2 deliveries received, 0 answered 503"),
            std::string::npos)
      << consumer.log();
}

TEST_F(quickstart_test, fail_first_answers_503_until_the_retry_succeeds) {
  demo_consumer consumer(dir, consumer_port, {"--fail-first", "1"});
  ASSERT_TRUE(consumer.up()) << consumer.log();
  test::dmq_process dmq(dir, api_port, "run");

  auto m = notice();  // svs:notice:user: one consumer, wet234, retries after 300 ms
  auto r = test::call(api_port, "POST", "/api/message/single", text(m));
  ASSERT_EQ(r.code(), 0) << r.body;
  auto id = id_in(r);
  EXPECT_EQ(settled(id, "wet234"), "done") << consumer.log();
  auto log = consumer.log();
  auto first = "X-Dmq-Message-Id: " + std::to_string(id) + ", X-Dmq-Attempt: 1";
  auto second = "X-Dmq-Message-Id: " + std::to_string(id) + ", X-Dmq-Attempt: 2";
  EXPECT_NE(log.find(first), std::string::npos) << log;
  EXPECT_NE(log.find("-> 503 (--fail-first 1: attempt 1 fails)"), std::string::npos) << log;
  EXPECT_NE(log.find(second), std::string::npos) << log;
  EXPECT_GT(log.find(second), log.find(first)) << log;
}

// Without http.tls, SIGHUP has nothing to reload: dmq stops in order, as on SIGTERM (exit
// 0, its last line said), not killed by the signal's default action.
TEST_F(quickstart_test, sighup_without_tls_stops_in_order) {
  test::dmq_process dmq(dir, api_port, "run");
  dmq.signal(SIGHUP);
  EXPECT_EQ(dmq.wait_exit(), 0) << dmq.log();
  EXPECT_NE(dmq.log().find("signal 1 (SIGHUP): stopping"), std::string::npos) << dmq.log();
  EXPECT_NE(dmq.log().find("stopped (exit code 0)"), std::string::npos) << dmq.log();
}

// exit_of runs `dmq args` (bounded by timeout(1)) and returns its exit code and output.
std::pair<int, std::string> exit_of(const std::string& args) {
  std::string out;
  FILE* p = ::popen(("timeout 10 " + std::string(DMQ_BINARY) + " " + args + " 2>&1").c_str(), "r");
  if (!p) return {-1, out};
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST_F(quickstart_test, demo_consumer_refuses_a_bad_address_and_a_taken_port) {
  auto [bad, said] = exit_of("demo-consumer --listen 127.0.0.1:http");
  EXPECT_EQ(bad, 2) << said;
  EXPECT_NE(said.find("--listen 127.0.0.1:http: expected HOST:PORT"), std::string::npos) << said;
  demo_consumer first(dir, consumer_port);
  ASSERT_TRUE(first.up()) << first.log();
  auto [taken, why] = exit_of("demo-consumer --listen " + std::to_string(consumer_port));
  EXPECT_EQ(taken, 1) << why;
  EXPECT_NE(why.find("cannot listen on 127.0.0.1:" + std::to_string(consumer_port)),
            std::string::npos)
      << why;
}

}  // namespace
}  // namespace dmq::e2e
