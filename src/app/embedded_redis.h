// embedded_redis: a private redis-server child process, for `redis.embedded: true`.
//
// The child keeps its data (AOF on, maxmemory-policy noeviction) under redis.data_dir,
// listens on 127.0.0.1 at redis.port, and dies with dmq (PR_SET_PDEATHSIG) even when dmq
// is killed with SIGKILL.
//
// One owner per data_dir: the process that runs the server holds an exclusive flock on
// data_dir/dmq.lock (its pid written in it) for its whole life. A second dmq on the same
// config (`dmq client` + `dmq server`, or a second `dmq run`) finds the lock held and
// shares the running server: it never starts or stops it, and takes it over (lock, then a
// server of its own on the same data) if the owner exits. A redis-server named in
// data_dir/redis.pid is stopped as stale only when the lock is free, that is when the
// process that ran it is provably dead. docs/operations.md.
//
// Credentials: the server requires a password, redis.password if configured, else one the
// owner generates once into data_dir/password (0600, reused across restarts, read by every
// process sharing the server). It reaches redis-server in data_dir/redis.conf (0600,
// rewritten at each launch), never on its command line, which any local user can read in
// /proc. With redis.username, that ACL user is defined there too. docs/security.md.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>

#include "config/config.h"

namespace dmq::app {

// embedded_password returns the password of the embedded Redis of s: redis.password when
// configured, else the content of data_dir/password ("" while there is none: nobody has
// started the server yet).
std::string embedded_password(const config::redis_settings& s);

class embedded_redis {
 public:
  explicit embedded_redis(const config::redis_settings& s) : s_(s) {}
  ~embedded_redis();
  embedded_redis(const embedded_redis&) = delete;
  embedded_redis& operator=(const embedded_redis&) = delete;

  // start makes the embedded Redis answer on 127.0.0.1:redis.port within timeout_ms: as the
  // owner it launches redis-server; as a sharer it waits for the owner's. Returns an empty
  // string on success, else what went wrong.
  std::string start(int timeout_ms = 10000);
  // stop asks an owned child to shut down (SIGTERM: it flushes its AOF) and waits for it; a
  // sharer has nothing to stop. The lock is kept until destruction.
  void stop();
  // tick keeps the server running; call it every second or so. An owner reaps a child that
  // died and starts a new one; a sharer whose owner has exited takes the lock and starts the
  // server itself. It blocks while a stale server is stopped (rare: the owner died).
  void tick();
  // owner says whether this process holds the lock (and runs the server).
  bool owner() const { return owner_; }
  pid_t pid() const { return pid_; }

 private:
  bool take_lock();
  std::string owner_pid() const;
  void stop_stale();
  std::string launch();
  // write_conf makes sure of the password (generating data_dir/password once) and writes
  // data_dir/redis.conf with it; returns what went wrong, or "".
  std::string write_conf();
  std::string wait_started(std::chrono::steady_clock::time_point until, int timeout_ms);

  config::redis_settings s_;
  int lock_fd_ = -1;
  bool owner_ = false;
  pid_t pid_ = -1;
};

}  // namespace dmq::app
