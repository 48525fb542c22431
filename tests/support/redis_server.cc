#include "support/redis_server.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "support/ports.h"

namespace dmq::test {

namespace {

redis::reply convert(const redisReply* r) {
  redis::reply out;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      out.type = redis::reply::kind::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = redis::reply::kind::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = redis::reply::kind::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = redis::reply::kind::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = redis::reply::kind::array;
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      break;
  }
  return out;
}

}  // namespace

redis_server::redis_server(redis_server_options opt)
    : aof_(opt.aof), requirepass_(std::move(opt.requirepass)) {
  // Another process may bind the port between free_port and redis-server: then this
  // redis-server exits at once, and start tries again on another port.
  for (int tries = 0;; ++tries) {
    port_ = free_port();
    dir_ = (std::filesystem::temp_directory_path() /
            ("dmq-redis-" + std::to_string(::getpid()) + "-" + std::to_string(port_)))
               .string();
    std::filesystem::create_directories(dir_);
    try {
      start();
      return;
    } catch (const std::exception&) {
      stop();
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      if (tries == 4) throw;
    }
  }
}

redis_server::~redis_server() {
  resume();
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void redis_server::start() {
  pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0)
    throw std::runtime_error(std::string("redis-server: cannot fork: ") + std::strerror(errno));
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    auto port = std::to_string(port_);
    auto log = dir_ + "/redis.log";
    // A test's server: its password on the command line is no secret.
    ::execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", aof_ ? "yes" : "no", "--appendfsync", "always", "--dir",
             dir_.c_str(), "--logfile", log.c_str(), "--requirepass", requirepass_.c_str(),
             nullptr);
    ::_exit(127);
  }
  // Up when the server on the port is ours (its dir is ours): one that exits at once
  // because the port is taken must not be mistaken for the one that took it.
  auto ours = std::filesystem::weakly_canonical(dir_).string();
  bool exited = false;
  int status = 0;
  bool up = wait_until([&] {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) exited = true;
    if (exited) return true;
    auto r = cmd({"CONFIG", "GET", "dir"});
    return r.elements.size() == 2 && r.elements[1].str == ours;
  });
  if (exited) {
    pid_ = -1;
    std::ifstream in(dir_ + "/redis.log");
    std::stringstream log;
    log << in.rdbuf();
    auto how = WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                 : "signal " + std::to_string(WTERMSIG(status));
    throw std::runtime_error("redis-server exited at once on port " + std::to_string(port_) + " (" +
                             how + "); its log:\n" + log.str());
  }
  if (!up) {
    stop();
    throw std::runtime_error("redis-server did not start on port " + std::to_string(port_));
  }
}

void redis_server::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void redis_server::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}
void redis_server::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

std::string redis_server::config_yaml() const {
  std::string out = "  host: 127.0.0.1\n  port: " + std::to_string(port_) + "\n";
  if (requirepass_.empty()) return out;
  std::string quoted;  // YAML single-quoted: ' doubled
  for (char c : requirepass_) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "  password: '" + quoted + "'\n";
}

std::set<std::string> redis_server::scan_keys(const std::string& pattern) const {
  if (requirepass_.empty()) return redis_scan(port_, {}, pattern);
  return redis_scan(port_, {requirepass_}, pattern);
}

redis::reply redis_server::cmd(const std::vector<std::string>& args) const {
  if (requirepass_.empty()) return cmd_as({}, args);
  return cmd_as({requirepass_}, args);
}

redis::reply redis_server::cmd_as(const std::vector<std::string>& auth,
                                  const std::vector<std::string>& args) const {
  return redis_cmd(port_, auth, args);
}

redis::reply redis_cmd(int port, const std::vector<std::string>& auth,
                       const std::vector<std::string>& args) {
  timeval tv{2, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  redis::reply out{redis::reply::kind::error, 0, "cannot connect", {}};
  auto run = [&](const std::vector<std::string>& a) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& x : a) {
      argv.push_back(x.data());
      lens.push_back(x.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(a.size()), argv.data(), lens.data()));
    if (!r) return false;
    out = convert(r);
    freeReplyObject(r);
    return true;
  };
  if (c && !c->err) {
    redisSetTimeout(c, tv);
    std::vector<std::string> a{"AUTH"};
    a.insert(a.end(), auth.begin(), auth.end());
    if (auth.empty() || (run(a) && !out.is_error())) run(args);
  }
  if (c) redisFree(c);
  return out;
}

std::vector<redis::reply> redis_cmds(int port, const std::vector<std::vector<std::string>>& cmds) {
  std::vector<redis::reply> out(cmds.size(),
                                redis::reply{redis::reply::kind::error, 0, "cannot connect", {}});
  timeval tv{2, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (c && !c->err) {
    redisSetTimeout(c, tv);
    bool sent = true;
    for (const auto& a : cmds) {
      std::vector<const char*> argv;
      std::vector<size_t> lens;
      for (const auto& x : a) {
        argv.push_back(x.data());
        lens.push_back(x.size());
      }
      if (redisAppendCommandArgv(c, static_cast<int>(a.size()), argv.data(), lens.data()) !=
          REDIS_OK) {
        sent = false;
        break;
      }
    }
    for (std::size_t i = 0; sent && i < cmds.size(); ++i) {
      void* r = nullptr;
      if (redisGetReply(c, &r) != REDIS_OK || !r) break;
      out[i] = convert(static_cast<redisReply*>(r));
      freeReplyObject(r);
    }
  }
  if (c) redisFree(c);
  return out;
}

std::set<std::string> redis_scan(int port, const std::vector<std::string>& auth,
                                 const std::string& pattern) {
  std::set<std::string> out;
  std::string cursor = "0";
  for (int round = 0; round < 100000; ++round) {
    auto r = redis_cmd(port, auth, {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    if (!r.is_array() || r.elements.size() != 2)
      throw std::runtime_error("SCAN on port " + std::to_string(port) + " failed: " + r.str);
    for (const auto& k : r.elements[1].elements) out.insert(k.str);
    cursor = r.elements[0].str;
    if (cursor == "0") break;
  }
  return out;
}

}  // namespace dmq::test
