// redis_server: a real redis-server (Debian's) on a free loopback port for one test,
// without persistence unless asked for, killed when the test ends; and a small synchronous client
// (hiredis) to look at what dmq stored.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "redis/reply.h"

namespace dmq::test {

// redis_server_options: how a redis_server runs.
struct redis_server_options {
  // with an append-only file fsynced at every write (appendfsync always), so that stop()
  // and start() lose nothing
  bool aof = false;
  // the default user's password (requirepass): cmd() authenticates with it
  std::string requirepass;
};

class redis_server {
 public:
  // starts it; throws if it does not answer within 10 s. aof: with an append-only file
  // fsynced at every write (appendfsync always), so that stop() and start() lose nothing.
  explicit redis_server(bool aof = false) : redis_server(redis_server_options{aof, ""}) {}
  explicit redis_server(redis_server_options opt);
  ~redis_server();
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
  redis::reply cmd(const std::vector<std::string>& args) const;
  // cmd_as runs one command on a connection that first sends AUTH with auth (one element:
  // a password; two: user and password; none: no AUTH); an error reply of AUTH is returned.
  redis::reply cmd_as(const std::vector<std::string>& auth,
                      const std::vector<std::string>& args) const;

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

}  // namespace dmq::test
