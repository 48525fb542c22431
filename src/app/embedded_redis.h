// embedded_redis: a private redis-server child process, for `redis.embedded: true`.
//
// The child keeps its data (AOF on) under redis.data_dir, listens on 127.0.0.1 at
// redis.port, and dies with dmq (PR_SET_PDEATHSIG) even when dmq is killed with SIGKILL.
// A child left over from a crash (its pid in data_dir/redis.pid) is stopped before a new
// one starts, so it never blocks the next start.
#pragma once

#include <sys/types.h>

#include <string>

#include "config/config.h"

namespace dmq::app {

class embedded_redis {
 public:
  explicit embedded_redis(const config::redis_settings& s) : s_(s) {}
  ~embedded_redis() { stop(); }
  embedded_redis(const embedded_redis&) = delete;
  embedded_redis& operator=(const embedded_redis&) = delete;

  // start launches redis-server and waits (at most timeout_ms) until it answers PING.
  // Returns an empty string on success, else what went wrong.
  std::string start(int timeout_ms = 10000);
  // stop asks the child to shut down (SIGTERM: it flushes its AOF) and waits for it.
  void stop();
  pid_t pid() const { return pid_; }

 private:
  void stop_stale();

  config::redis_settings s_;
  pid_t pid_ = -1;
};

}  // namespace dmq::app
