#include "support/dmq_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "support/http_client.h"
#include "support/ports.h"

namespace fs = std::filesystem;

namespace dmq::test {

std::string make_config_dir(int redis_port, int http_port, const std::string& extra) {
  static std::atomic<int> n{0};
  auto dir = fs::temp_directory_path() /
             ("dmq-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  fs::create_directories(dir / "commands");
  std::ofstream(dir / "config.yaml") << "http_port: " << http_port << R"(
http:
  listen: 127.0.0.1
product_list:
  - project: svs
    allow_ip: [127.0.0.1]
  - project: sds
    allow_ip: [127.0.0.1]
msg_save_days: 4
request_trace_id_key: Request-Id
redis:
  host: 127.0.0.1
  port: )" << redis_port << R"(
  db: 0
  read_timeout: 1
  write_timeout: 1
command_list:
  - cmd-sds-create-order.yaml
  - cmd-svs-notice-user.yaml
)" << extra;
  std::ofstream(dir / "commands" / "cmd-sds-create-order.yaml") << R"(project: sds
command: sds:create:order
consumer_list:
  - host: 127.0.0.1:1
    name: dgfa
    path: /api/mytest/test/createorder
    timeout: 600
    retry_times: 3
    interval: 500
  - host: 127.0.0.1:1
    name: fghyds
    path: /api/mytest/test/createorder
    timeout: 600
    retry_times: 2
    interval: 300
)";
  std::ofstream(dir / "commands" / "cmd-svs-notice-user.yaml") << R"(project: svs
command: svs:notice:user
consumer_list:
  - host: 127.0.0.1:1
    name: wet234
    path: /api/mytest/test/noticeuser
    timeout: 600
    retry_times: 3
    interval: 300
)";
  return dir.string();
}

void remove_config_dir(const std::string& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
}

dmq_process::dmq_process(std::string config_dir, int http_port, std::string subcommand,
                         bool wait_healthy)
    : dir_(std::move(config_dir)), port_(http_port) {
  log_path_ = dir_ + "/dmq-" + subcommand + ".stderr";
  pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error(std::string("dmq: cannot fork: ") + std::strerror(errno));
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 2);
    ::dup2(fd, 1);
    ::execl(DMQ_BINARY, DMQ_BINARY, subcommand.c_str(), dir_.c_str(), nullptr);
    ::_exit(127);
  }
  if (!wait_healthy) return;
  // Healthy: /healthz answers 200 on the port, and the socket listening there is this
  // process's (not another test's server that was handed the same port).
  bool up = wait_until([&] {
    if (!running()) return false;
    try {
      return call(port_, "GET", "/healthz").status == 200 && listening_pid_has(pid_, port_);
    } catch (...) {
      return false;
    }
  });
  if (!up) throw std::runtime_error("dmq did not become healthy; its log:\n" + log());
}

dmq_process::~dmq_process() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void dmq_process::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

bool dmq_process::running() {
  if (exit_code_ >= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

int dmq_process::wait_exit(int bound_ms) {
  wait_until([&] { return !running(); }, std::chrono::milliseconds(bound_ms));
  return exit_code_;
}

std::string dmq_process::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace dmq::test
