// connection: one pipelined, self-reconnecting connection to Redis, native to Asio.
//
// Any number of coroutines may call exec() at once: their commands are appended to one
// write buffer and their replies matched in order (auto-pipelining), so concurrent
// requests share round trips. Replies are parsed by hiredis's redisReader.
// Failures are values: exec() never hangs past options::request_timeout_ms, and while
// Redis is unreachable it fails at once with errc::not_connected while the connection
// retries in the background with exponential backoff.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "redis/client.h"
#include "redis/reply.h"

namespace dmq::redis {

enum class errc {
  not_connected = 1,
  timeout,
  connection_lost,
  protocol,
  stopped,
  server_error,
  out_of_memory,   // Redis refused a write: used memory > maxmemory (noeviction)
  not_replicated,  // WAIT: fewer replicas than redis.wait_replicas confirmed a save in time
};
const std::error_category& error_category();
std::error_code make_error_code(errc e);

struct options {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string username;  // a Redis ACL user: AUTH username password; empty: AUTH password
  std::string password;  // empty: no AUTH
  int db = 0;
  int connect_timeout_ms = 2000;
  int request_timeout_ms = 1000;  // a reply later than this breaks the connection
  int min_backoff_ms = 8;
  int max_backoff_ms = 400;
  std::string name = "redis";  // for log lines
};

class connection final : public client {
 public:
  connection(boost::asio::any_io_executor ex, options opt);
  ~connection() override;
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  void set_on_connect(on_connect_fn fn) override;
  // set_push_handler receives pub/sub messages (["message", channel, payload], or
  // "smessage" for sharded channels) on a connection that has (S)SUBSCRIBEd; other replies
  // still answer exec() in order.
  void set_push_handler(std::function<void(const reply&)> fn);
  // start begins connecting, and reconnecting whenever the connection breaks.
  void start() override;
  // stop closes the connection; pending and later requests fail with errc::stopped.
  void stop() override;
  // ready says whether the connection is up and its handshake is done.
  bool ready() const override;
  // why_down says why the connection is not ready ("" when it is): cannot connect, the
  // connection broke, or the server refused the handshake (a wrong password, NOAUTH, ...).
  // It never holds the password.
  std::string why_down() const override;
  // session numbers the connections made so far: it changes with every reconnect, after
  // which the server may be another one (a restarted, emptied Redis).
  std::uint64_t session() const override;
  // wait_ready waits until ready() or bound passes; returns ready().
  boost::asio::awaitable<bool> wait_ready(std::chrono::milliseconds bound) override;

  // exec sends every command in cmd and returns their replies, in order.
  // Redis error replies are replies (reply::is_error); the error code is for transport.
  // cmd must stay alive until exec completes (the caller may keep it to retry).
  boost::asio::awaitable<exec_result> exec(const command& cmd) override;

  std::vector<connection*> masters() override { return {this}; }
  bool is_cluster() const override { return false; }
  // where returns "host:port".
  std::string where() const;
  // set_on_broken is called whenever the connection breaks (a cluster refreshes its map).
  void set_on_broken(std::function<void()> fn);
  struct impl;  // public only so the .cc's helpers can name it

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace dmq::redis

template <>
struct std::is_error_code_enum<dmq::redis::errc> : std::true_type {};
