#include "app/embedded_redis.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace dmq::app {

namespace {

// answers_ping says whether something on 127.0.0.1:port answers a Redis PING.
bool answers_ping(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{0, 500000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::write(fd, "PING\r\n", 6) == 6) {
    char buf[64];
    auto n = ::read(fd, buf, sizeof buf);
    // +PONG, or -NOAUTH when a password is set: either way the server is up.
    ok = n > 0 && (buf[0] == '+' || buf[0] == '-') &&
         std::string_view(buf, n).find("LOADING") == std::string_view::npos;
  }
  ::close(fd);
  return ok;
}

// wait_exit waits up to bound for pid to exit; returns whether it did.
bool wait_exit(pid_t pid, std::chrono::milliseconds bound, bool is_child) {
  auto until = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < until) {
    if (is_child) {
      if (::waitpid(pid, nullptr, WNOHANG) == pid) return true;
    } else if (::kill(pid, 0) != 0) {
      return true;
    }
    std::this_thread::sleep_for(10ms);  // polling a process: nothing to wait on
  }
  return false;
}

std::string tail(const fs::path& file, std::size_t lines) {
  std::ifstream in(file);
  std::vector<std::string> all;
  for (std::string l; std::getline(in, l);) all.push_back(l);
  std::string out;
  for (auto i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
    out += "\n  " + all[i];
  return out;
}

}  // namespace

void embedded_redis::stop_stale() {
  std::ifstream in(s_.data_dir / "redis.pid");
  pid_t pid = 0;
  if (!(in >> pid) || pid <= 0 || ::kill(pid, 0) != 0) return;
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(comm, name);
  if (name.find("redis") == std::string::npos) return;  // the pid was reused by another program
  spdlog::warn("redis: stopping a stale redis-server (pid {}) left by an earlier run", pid);
  ::kill(pid, SIGTERM);
  if (!wait_exit(pid, 10s, false)) ::kill(pid, SIGKILL);
  wait_exit(pid, 2s, false);
}

std::string embedded_redis::start(int timeout_ms) {
  std::error_code ec;
  fs::create_directories(s_.data_dir, ec);
  if (ec) return "cannot create " + s_.data_dir.string() + ": " + ec.message();
  stop_stale();
  if (answers_ping(s_.port))
    return "port " + std::to_string(s_.port) +
           " is taken by another Redis: set redis.port to a free port for the embedded one";

  std::vector<std::string> args = {s_.server_path,
                                   "--port",
                                   std::to_string(s_.port),
                                   "--bind",
                                   "127.0.0.1",
                                   "--dir",
                                   s_.data_dir.string(),
                                   "--appendonly",
                                   "yes",
                                   "--appendfsync",
                                   s_.appendfsync,
                                   "--save",
                                   "",
                                   "--daemonize",
                                   "no",
                                   "--pidfile",
                                   (s_.data_dir / "redis.pid").string(),
                                   "--logfile",
                                   (s_.data_dir / "redis.log").string()};
  if (!s_.password.empty()) args.insert(args.end(), {"--requirepass", s_.password});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    ::setpgid(0, 0);  // a Ctrl-C meant for dmq must not stop Redis before dmq is done
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(1);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return "cannot run '" + s_.server_path + "' (is redis-server installed?)";
      return "redis-server exited at start; its log says:" + tail(s_.data_dir / "redis.log", 5);
    }
    if (answers_ping(s_.port)) {
      spdlog::info("redis: embedded redis-server (pid {}) on 127.0.0.1:{}, data in {}", pid_,
                   s_.port, s_.data_dir.string());
      return {};
    }
    std::this_thread::sleep_for(20ms);  // polling a starting process: nothing to wait on
  }
  stop();
  return "redis-server did not answer within " + std::to_string(timeout_ms) + " ms";
}

void embedded_redis::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  if (!wait_exit(pid_, 15s, true)) {
    spdlog::warn("redis: embedded redis-server did not stop in 15 s, killing it");
    ::kill(pid_, SIGKILL);
    wait_exit(pid_, 5s, true);
  } else {
    spdlog::info("redis: embedded redis-server stopped");
  }
  pid_ = -1;
}

}  // namespace dmq::app
