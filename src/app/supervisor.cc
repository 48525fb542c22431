#include "app/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "app/embedded_redis.h"
#include "util/spawn.h"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace dmq::app {

std::chrono::milliseconds restart_delay(int n) {
  if (n < 1) n = 1;
  if (n > 8) return 10s;  // 100 ms << 7 = 12.8 s already
  return std::min<std::chrono::milliseconds>(10s, 100ms * (1 << (n - 1)));
}

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr int ready_fd = 3;  // the child's end of its readiness pipe

// exit_code_of turns a wait status into an exit code as a shell shows it.
int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

std::string exit_text(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + ::strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

const char* signal_name(int sig) {
  return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "?";
}

struct child {
  explicit child(asio::io_context& ioc, int k) : index(k), pipe(ioc), restart(ioc) {}
  int index;            // 1..workers
  pid_t pid = -1;       // -1: not running
  bool served = false;  // it said it serves, since its last start
  int failures = 0;     // exits since it last served
  int generation = 0;   // starts so far: tells a stale readiness wait from the current one
  asio::posix::stream_descriptor pipe;  // the read end of its readiness pipe
  asio::steady_timer restart;
};

class supervisor {
 public:
  supervisor(asio::io_context& ioc, const config::settings& cfg, std::string name)
      : ioc_(ioc), cfg_(cfg), name_(std::move(name)), deadline_(ioc) {
    for (int k = 1; k <= cfg.workers; ++k) children_.push_back(std::make_unique<child>(ioc, k));
  }

  int exit_code() const { return exit_code_; }

  // run starts the children and handles signals until every child has stopped.
  asio::awaitable<void> run() {
    // SIGCHLD is watched before the first fork, so that no child's exit goes unseen.
    asio::signal_set signals(ioc_, SIGINT, SIGTERM, SIGHUP);
    signals.add(SIGCHLD);
    for (auto& c : children_) start(*c);
    while (running() > 0 || !stopping_) {
      int sig = co_await signals.async_wait(asio::use_awaitable);
      if (sig == SIGCHLD) {
        reap();
        continue;
      }
      if (sig == SIGHUP && cfg_.http.tls.enabled()) {
        forward(sig);
        spdlog::info("SIGHUP: passed on to the {} worker(s) (they reload http.tls)", running());
        continue;
      }
      // Only the first stop signal is passed on: a child that has stopped listening for
      // signals (it is exiting) would be killed by a second one.
      if (!stopping_) {
        spdlog::info("signal {} ({}): stopping the {} worker(s)", sig, signal_name(sig), running());
        stop_signal_ = sig;
        forward(sig);
        begin_stop();
      }
    }
    deadline_.cancel();
    ioc_.stop();
  }

  // watch_redis keeps the embedded Redis running (embedded_redis::tick) until a stop.
  asio::awaitable<void> watch_redis(embedded_redis& redis) {
    asio::steady_timer t(ioc_);
    while (!stopping_) {
      t.expires_after(1s);
      co_await t.async_wait(use_tuple);
      if (!stopping_) redis.tick();
    }
  }

 private:
  int running() const {
    int n = 0;
    for (const auto& c : children_) n += c->pid > 0 ? 1 : 0;
    return n;
  }

  void forward(int sig) {
    for (auto& c : children_)
      if (c->pid > 0) ::kill(c->pid, sig);
  }

  // start forks and execs child c, with the write end of a new pipe as its fd 3.
  void start(child& c) {
    std::array<int, 2> fds{};
    if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
      spdlog::error("workers: cannot make a pipe for worker {}: {}", c.index, std::strerror(errno));
      fail_or_retry(c, 1 << 8);
      return;
    }
    // Everything the child needs is built before fork: after it, only exec.
    std::vector<std::string> args = {"dmq",
                                     name_,
                                     cfg_.dir.string(),
                                     "--worker",
                                     std::to_string(c.index),
                                     "--ready-fd",
                                     std::to_string(ready_fd)};
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, 0);  // a Ctrl-C reaches the parent alone, which passes it on
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(1);
      // dup2 clears FD_CLOEXEC on the copy; when the write end is fd 3 already, clear it.
      if (fds[1] == ready_fd)
        ::fcntl(ready_fd, F_SETFD, 0);
      else
        ::dup2(fds[1], ready_fd);
      ::execv("/proc/self/exe", argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    if (pid < 0) {
      ::close(fds[0]);
      spdlog::error("workers: cannot fork worker {}: {}", c.index, std::strerror(errno));
      fail_or_retry(c, 1 << 8);
      return;
    }
    c.pid = pid;
    c.served = false;
    ++c.generation;
    boost::system::error_code ignored;
    c.pipe.close(ignored);
    c.pipe.assign(fds[0]);
    spdlog::info("workers: worker {} started (pid {})", c.index, pid);
    util::spawn(ioc_, wait_served(c, c.generation), "worker readiness");
  }

  // wait_served notes when child c (in its start number generation) says it serves.
  asio::awaitable<void> wait_served(child& c, int generation) {
    char byte = 0;
    auto [ec, n] = co_await c.pipe.async_read_some(asio::buffer(&byte, 1), use_tuple);
    if (ec || n != 1 || c.generation != generation || c.pid <= 0) co_return;
    c.served = true;
    c.failures = 0;
    ever_served_ = true;
    spdlog::info("workers: worker {} (pid {}) serves; {} worker(s) of {} running", c.index, c.pid,
                 running(), children_.size());
  }

  // reap collects every child that has exited (only ours: the embedded Redis is reaped by
  // embedded_redis::tick).
  void reap() {
    for (auto& c : children_) {
      int status = 0;
      if (c->pid <= 0 || ::waitpid(c->pid, &status, WNOHANG) != c->pid) continue;
      auto pid = c->pid;
      c->pid = -1;
      boost::system::error_code ignored;
      c->pipe.close(ignored);
      if (stopping_) {
        stopped(*c, pid, status);
        continue;
      }
      spdlog::error("workers: worker {} (pid {}) exited unexpectedly: {}", c->index, pid,
                    exit_text(status));
      fail_or_retry(*c, status);
    }
  }

  // stopped notes how child c (pid) ended after a stop. One ended by the stop signal was
  // starting (no handler yet) or exiting (none any more; a second copy, as systemd's
  // KillMode=control-group sends one to every process besides the parent's): in order.
  void stopped(const child& c, pid_t pid, int status) {
    if (WIFSIGNALED(status) && WTERMSIG(status) == stop_signal_ && !killed_.count(pid)) {
      spdlog::info("workers: worker {} (pid {}) ended by the signal (it was starting or exiting)",
                   c.index, pid);
      return;
    }
    int code = killed_.count(pid) ? 1 : exit_code_of(status);
    if (code == 0) return;
    spdlog::warn("workers: worker {} (pid {}) stopped: {}", c.index, pid, exit_text(status));
    if (exit_code_ == 0) exit_code_ = code;
  }

  // fail_or_retry handles a child that exited, or could not be started, while dmq runs:
  // before any child ever served, dmq stops with its exit code; else it is restarted later.
  void fail_or_retry(child& c, int status) {
    if (!ever_served_ && !c.served) {
      exit_code_ = std::max(1, exit_code_of(status));
      spdlog::error("workers: worker {} failed to start: stopping dmq (exit code {})", c.index,
                    exit_code_);
      stop_signal_ = SIGTERM;
      forward(SIGTERM);
      begin_stop();
      return;
    }
    ++c.failures;
    ++restarts_;
    auto delay = restart_delay(c.failures);
    spdlog::warn("workers: restarting worker {} in {} ms (restart {} since dmq started)", c.index,
                 delay.count(), restarts_);
    c.restart.expires_after(delay);
    c.restart.async_wait([this, &c](boost::system::error_code ec) {
      if (!ec && !stopping_ && c.pid <= 0) start(c);
    });
  }

  // begin_stop stops restarting children and bounds how long they get to stop.
  void begin_stop() {
    stopping_ = true;
    for (auto& c : children_) c->restart.cancel();
    auto bound = std::chrono::milliseconds(cfg_.http.shutdown_timeout_ms) +
                 std::chrono::milliseconds(cfg_.dispatch.shutdown_timeout_ms) + 5s;
    deadline_.expires_after(bound);
    deadline_.async_wait([this, bound](boost::system::error_code ec) {
      if (ec) return;
      for (auto& c : children_) {
        if (c->pid <= 0) continue;
        spdlog::error("workers: worker {} (pid {}) still runs {} ms after the stop: killing it",
                      c->index, c->pid, bound.count());
        killed_.insert(c->pid);
        ::kill(c->pid, SIGKILL);
      }
    });
  }

  asio::io_context& ioc_;
  const config::settings& cfg_;
  std::string name_;
  std::vector<std::unique_ptr<child>> children_;
  asio::steady_timer deadline_;
  std::set<pid_t> killed_;
  bool stopping_ = false;
  int stop_signal_ = 0;  // the signal passed on to stop the children
  bool ever_served_ = false;
  int restarts_ = 0;
  int exit_code_ = 0;
};

}  // namespace

int supervise(const config::settings& cfg, const std::string& name) {
  ::signal(SIGPIPE, SIG_IGN);
  spdlog::info("workers: dmq {} runs {} worker processes on port {} (http.reuse_port)", name,
               cfg.workers, cfg.http.port);
  // The embedded Redis is started here, once, before any child: the children share it.
  std::optional<embedded_redis> redis;
  if (cfg.redis.embedded) {
    redis.emplace(cfg.redis);
    if (auto err = redis->start(); !err.empty()) {
      spdlog::error("redis.embedded: {}", err);
      return 1;
    }
  }
  asio::io_context ioc(1);
  supervisor s(ioc, cfg, name);
  // A bug in the parent: exit 70 at once; the children get SIGTERM as it exits (their
  // PR_SET_PDEATHSIG) and stop in order.
  bool failed = false;
  util::set_fatal_handler([&](const std::string&, const std::string&) {
    failed = true;
    ioc.stop();
  });
  util::spawn(ioc, s.run(), "supervisor");
  if (redis) util::spawn(ioc, s.watch_redis(*redis), "embedded redis watch");
  ioc.run();
  util::set_fatal_handler(nullptr);
  redis.reset();  // stopped last, once every child has
  int code = failed ? 70 : s.exit_code();
  spdlog::info("workers: stopped (exit code {})", code);
  return code;
}

}  // namespace dmq::app
