// redis_server: a real redis-server (Debian's) on a free loopback port for one test,
// without persistence unless asked for, killed when the test ends; and a small synchronous client
// (hiredis) to look at what dmq stored.
#pragma once

#include <sys/types.h>

#include <set>
#include <string>
#include <vector>

#include "redis/reply.h"
#include "support/redis_target.h"

namespace dmq::test {

// redis_server_options: how a redis_server runs.
struct redis_server_options {
  // with an append-only file fsynced at every write (appendfsync always), so that stop()
  // and start() lose nothing
  bool aof = false;
  // the default user's password (requirepass): cmd() authenticates with it
  std::string requirepass;
};

class redis_server : public redis_target {
 public:
  // starts it; throws if it does not answer within 10 s. aof: with an append-only file
  // fsynced at every write (appendfsync always), so that stop() and start() lose nothing.
  explicit redis_server(bool aof = false) : redis_server(redis_server_options{aof, ""}) {}
  explicit redis_server(redis_server_options opt);
  ~redis_server() override;
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  int port() const { return port_; }
  // stop kills the server (SIGKILL: as abrupt as a crash); start brings it back on the same port.
  void stop();
  void start();
  // pause and resume freeze the server (SIGSTOP / SIGCONT): it accepts but never answers.
  void pause();
  void resume();

  // cmd runs one command and returns its reply (as the default user, with requirepass).
  redis::reply cmd(const std::vector<std::string>& args) const override;
  // cmd_as runs one command on a connection that first sends AUTH with auth (one element:
  // a password; two: user and password; none: no AUTH); an error reply of AUTH is returned.
  redis::reply cmd_as(const std::vector<std::string>& auth,
                      const std::vector<std::string>& args) const;

  // redis_target: "  host: 127.0.0.1\n  port: N\n" (and "  password: ..." with requirepass)
  std::string config_yaml() const override;
  bool is_cluster() const override { return false; }
  std::set<std::string> scan_keys(const std::string& pattern = "*") const override;

 private:
  int port_;
  pid_t pid_ = -1;
  std::string dir_;
  bool aof_ = false;
  std::string requirepass_;
};

// redis_cmd runs one command on the Redis at 127.0.0.1:port, after AUTH with auth as
// redis_server::cmd_as does.
redis::reply redis_cmd(int port, const std::vector<std::string>& auth,
                       const std::vector<std::string>& args);

// redis_cmds runs cmds one after the other on one connection to 127.0.0.1:port (pipelined:
// ASKING then a command, MULTI ... EXEC, a write then WAIT) and returns their replies, one
// per command; on a connection that fails, an error reply "cannot connect" for each
// command not answered.
std::vector<redis::reply> redis_cmds(int port, const std::vector<std::vector<std::string>>& cmds);

// redis_scan lists the keys matching pattern on the Redis at 127.0.0.1:port (SCAN MATCH),
// after AUTH with auth; throws if a SCAN fails.
std::set<std::string> redis_scan(int port, const std::vector<std::string>& auth,
                                 const std::string& pattern);

}  // namespace dmq::test
