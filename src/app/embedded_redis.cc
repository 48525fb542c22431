#include "app/embedded_redis.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "util/crypto.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace dmq::app {

namespace {

// answers_ping says whether something on 127.0.0.1:port answers a Redis PING.
bool answers_ping(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
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

// alive says whether pid runs. A zombie does not: kill(pid, 0) succeeds on one until its
// parent reaps it, which a parent that is itself stuck, or a container's init that does not
// reap, may never do; waiting for it to "exit" then took the whole bound.
bool alive(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto paren = line.rfind(')');  // "pid (comm) S ...": comm may hold spaces and parens
  return paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] != 'Z';
}

// wait_gone waits up to bound for pid to end; returns whether it did. A child is reaped.
bool wait_gone(pid_t pid, std::chrono::milliseconds bound, bool is_child) {
  auto until = std::chrono::steady_clock::now() + bound;
  for (;;) {
    if (is_child ? ::waitpid(pid, nullptr, WNOHANG) == pid : !alive(pid)) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(10ms);  // polling a process: nothing to wait on
  }
}

// runs_redis_in says whether pid is a redis-server working in dir (redis-server chdirs
// into its --dir): a pid reused by another program, or another Redis, is left alone.
bool runs_redis_in(pid_t pid, const fs::path& dir) {
  auto proc = fs::path("/proc") / std::to_string(pid);
  std::ifstream comm(proc / "comm");
  std::string name;
  std::getline(comm, name);
  if (name.find("redis") == std::string::npos) return false;
  std::error_code ec;
  auto cwd = fs::read_symlink(proc / "cwd", ec);
  if (ec) return true;  // unreadable (another user's process): trust the name
  return fs::equivalent(cwd, dir, ec);
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

// exit_text describes a wait status.
std::string exit_text(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + ::strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

// conf_quoted returns s as a double-quoted argument of a redis.conf line (sdssplitargs): any
// byte but a printable ASCII one other than \ and " as \xHH.
std::string conf_quoted(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out + "\"";
}

// write_private writes text to path, readable and writable by this user only (0600), and
// renames it into place so that no reader ever sees half of it; "" or what went wrong.
std::string write_private(const fs::path& path, const std::string& text) {
  auto tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return "cannot write " + tmp.string() + ": " + std::strerror(errno);
  bool ok = ::fchmod(fd, 0600) == 0;  // an older file of that name may have had other modes
  for (std::size_t done = 0; ok && done < text.size();) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ::fsync(fd) == 0 && ok;
  auto err = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) err = errno;
    ::unlink(tmp.c_str());
    return "cannot write " + path.string() + ": " + std::strerror(err);
  }
  return {};
}

std::string read_password(const fs::path& file) {
  std::ifstream in(file);
  std::string pw;
  std::getline(in, pw);
  return pw;
}

}  // namespace

std::string embedded_password(const config::redis_settings& s) {
  if (!s.password.empty()) return s.password;
  return read_password(s.data_dir / "password");
}

// write_conf: see the header. Called by the owner only (under the lock), before a launch.
std::string embedded_redis::write_conf() {
  auto file = s_.data_dir / "password";
  auto password = s_.password;
  if (password.empty()) {
    password = read_password(file);
    if (password.empty()) {
      // 32 random bytes as hex: 256 bits, and no character a shell or a config file quotes.
      password = util::to_hex(util::random_bytes(32));
      if (auto err = write_private(file, password + "\n"); !err.empty()) return err;
      spdlog::info("redis.embedded: generated a password for redis-server in {} (0600)",
                   file.string());
    } else {
      ::chmod(file.c_str(), 0600);  // keep it private even if someone loosened it
    }
  }
  std::string conf =
      "# Written by dmq at each start of its embedded redis-server; do not edit: changes\n"
      "# are lost. Private (0600): it holds the password (docs/security.md).\n"
      "requirepass " +
      conf_quoted(password) + "\n";
  if (!s_.username.empty() && s_.username != "default")
    conf += "user " + conf_quoted(s_.username) + " on " + conf_quoted(">" + password) +
            " ~* &* +@all\n";
  return write_private(s_.data_dir / "redis.conf", conf);
}

embedded_redis::~embedded_redis() {
  stop();
  // The lock goes last, once the server is gone: the next owner must never start a second
  // server on these files while this one still flushes its AOF.
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

// take_lock tries, without waiting, to become the owner; on success writes our pid in the
// lock file, for the message a sharer logs. The descriptor is O_CLOEXEC: were redis-server
// to inherit it, the lock would outlive dmq for as long as an orphaned server lingers
// (stopped, or slow to flush), and the next start would take that orphan for a live owner.
bool embedded_redis::take_lock() {
  if (lock_fd_ < 0)
    lock_fd_ = ::open((s_.data_dir / "dmq.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) return false;
  auto pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) != 0 || ::pwrite(lock_fd_, pid.data(), pid.size(), 0) < 0)
    spdlog::warn("redis.embedded: cannot write {}: {}", (s_.data_dir / "dmq.lock").string(),
                 std::strerror(errno));
  owner_ = true;
  return true;
}

// owner_pid returns the pid the lock's holder wrote, or "unknown".
std::string embedded_redis::owner_pid() const {
  std::ifstream in(s_.data_dir / "dmq.lock");
  pid_t pid = 0;
  return (in >> pid) && pid > 0 ? std::to_string(pid) : std::string("unknown");
}

// stop_stale stops the redis-server an earlier owner left (its pid in redis.pid). Called
// only with the lock held: that owner is dead, so the server serves nobody.
void embedded_redis::stop_stale() {
  std::ifstream in(s_.data_dir / "redis.pid");
  pid_t pid = 0;
  if (!(in >> pid) || pid <= 0 || !alive(pid) || !runs_redis_in(pid, s_.data_dir)) return;
  spdlog::warn("redis.embedded: stopping a stale redis-server (pid {}) left by an earlier run",
               pid);
  ::kill(pid, SIGTERM);
  ::kill(pid, SIGCONT);  // a stopped server acts on the SIGTERM (and flushes) only once resumed
  if (!wait_gone(pid, 10s, false)) {
    spdlog::warn("redis.embedded: stale redis-server (pid {}) did not stop in 10 s, killing it",
                 pid);
    ::kill(pid, SIGKILL);
    wait_gone(pid, 2s, false);
  }
}

std::string embedded_redis::start(int timeout_ms) {
  std::error_code ec;
  fs::create_directories(s_.data_dir, ec);
  if (ec) return "cannot create " + s_.data_dir.string() + ": " + ec.message();
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool said = false;
  while (!take_lock()) {
    if (lock_fd_ < 0)
      return "cannot open " + (s_.data_dir / "dmq.lock").string() + ": " + std::strerror(errno);
    if (!said) {
      spdlog::info(
          "redis.embedded: data_dir {} is in use by dmq pid {}: sharing its "
          "redis-server on 127.0.0.1:{} (this process neither starts nor stops it, "
          "and runs it if that process exits)",
          s_.data_dir.string(), owner_pid(), s_.port);
      said = true;
    }
    if (answers_ping(s_.port)) return {};
    if (std::chrono::steady_clock::now() >= until)
      return "data_dir " + s_.data_dir.string() + " is in use by dmq pid " + owner_pid() +
             ", but its redis-server does not answer on 127.0.0.1:" + std::to_string(s_.port) +
             " within " + std::to_string(timeout_ms) + " ms";
    std::this_thread::sleep_for(20ms);  // polling another process's server: nothing to wait on
  }
  stop_stale();
  if (answers_ping(s_.port))
    return "port " + std::to_string(s_.port) +
           " is taken by another Redis: set redis.port to a free port for the embedded one";
  if (auto err = launch(); !err.empty()) return err;
  return wait_started(until, timeout_ms);
}

// launch forks and execs redis-server; it does not wait for it to answer.
std::string embedded_redis::launch() {
  if (auto err = write_conf(); !err.empty()) return err;
  // The password is in redis.conf, the first argument: never on the command line.
  std::vector<std::string> args = {
      s_.server_path, (s_.data_dir / "redis.conf").string(), "--port", std::to_string(s_.port),
      "--bind", "127.0.0.1", "--dir", s_.data_dir.string(), "--appendonly", "yes", "--appendfsync",
      s_.appendfsync,
      // An accepted message must never be evicted: at maxmemory
      // saves fail instead (docs/operations.md).
      "--maxmemory-policy", "noeviction", "--save", "", "--daemonize", "no", "--pidfile",
      (s_.data_dir / "redis.pid").string(), "--logfile", (s_.data_dir / "redis.log").string()};
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
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
  return {};
}

// wait_started waits until the launched child answers PING, or exits, or until passes
// (timeout_ms after start() began, for the message).
std::string embedded_redis::wait_started(std::chrono::steady_clock::time_point until,
                                         int timeout_ms) {
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

void embedded_redis::tick() {
  if (!owner_) {
    if (!take_lock()) return;
    spdlog::warn(
        "redis.embedded: the dmq that ran the embedded redis-server has exited: this "
        "process (pid {}) runs it now",
        ::getpid());
    stop_stale();
  } else if (pid_ > 0) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return;  // still running
    spdlog::error(
        "redis.embedded: redis-server (pid {}) died ({}); starting it again. Its "
        "log says:{}",
        pid_, exit_text(status), tail(s_.data_dir / "redis.log", 5));
    pid_ = -1;
  }
  // The connection reconnects by itself once the new server answers.
  if (auto err = launch(); !err.empty()) spdlog::error("redis.embedded: {}", err);
}

void embedded_redis::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  if (!wait_gone(pid_, 15s, true)) {
    spdlog::warn("redis: embedded redis-server did not stop in 15 s, killing it");
    ::kill(pid_, SIGKILL);
    wait_gone(pid_, 5s, true);
  } else {
    spdlog::info("redis: embedded redis-server stopped");
  }
  pid_ = -1;
}

}  // namespace dmq::app
