// redis_server: a real redis-server (Debian's) on a free loopback port for one test,
// without persistence unless asked for, killed when the test ends; and a small synchronous client
// (hiredis) to look at what dmq stored.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "redis/reply.h"

namespace dmq::test {

class redis_server {
 public:
  // starts it; throws if it does not answer within 10 s. aof: with an append-only file
  // fsynced at every write (appendfsync always), so that stop() and start() lose nothing.
  explicit redis_server(bool aof = false);
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

  // cmd runs one command and returns its reply.
  redis::reply cmd(const std::vector<std::string>& args) const;

 private:
  int port_;
  pid_t pid_ = -1;
  std::string dir_;
  bool aof_ = false;
};

}  // namespace dmq::test
