// client: what dmq needs of "the Redis", whether one server (connection.h) or a Redis
// Cluster (cluster.h). Failures are values, as in connection.h: exec() never hangs past
// the request timeout and fails at once while Redis is unreachable.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "redis/reply.h"

namespace dmq::redis {

class connection;

using replies = std::vector<reply>;
using exec_result = std::pair<std::error_code, replies>;

class client {
 public:
  // on_connect_fn runs after each (re)connect of a connection to a server, before that
  // connection is marked ready (AUTH and SELECT are done): the place to SCRIPT LOAD. In a
  // cluster it runs on each master's connection.
  using on_connect_fn = std::function<boost::asio::awaitable<std::error_code>(connection&)>;

  virtual ~client() = default;

  virtual void set_on_connect(on_connect_fn fn) = 0;
  // start begins connecting, and reconnecting whenever a connection breaks.
  virtual void start() = 0;
  // stop closes every connection; pending and later requests fail with errc::stopped.
  virtual void stop() = 0;
  // ready says whether requests can be served (in a cluster: the slot map is known and
  // every master's connection is up).
  virtual bool ready() const = 0;
  // why_down says why not ready ("" when it is); never holds the password.
  virtual std::string why_down() const = 0;
  // session changes with every reconnect (of any server), after which a server may be
  // another one (a restarted, emptied Redis; a promoted replica).
  virtual std::uint64_t session() const = 0;
  // ready_for and session_for are ready() and session() for the server holding key alone
  // (in a cluster, its slot's master): a master down elsewhere does not stop it.
  virtual bool ready_for(std::string_view key) const { return (void)key, ready(); }
  virtual std::uint64_t session_for(std::string_view key) const { return (void)key, session(); }
  // wait_ready waits until ready() or bound passes; returns ready().
  virtual boost::asio::awaitable<bool> wait_ready(std::chrono::milliseconds bound) = 0;

  // exec sends every command in cmd and returns their replies, in order. Redis error
  // replies are replies; the error code is for transport. cmd must stay alive until exec
  // completes. A cluster routes each command (a MULTI ... EXEC block as one) by the slot of
  // its first key; a command without a key goes where the command before it went (so a
  // WAIT follows its write), or to any master when it comes first.
  virtual boost::asio::awaitable<exec_result> exec(const command& cmd) = 0;

  // masters returns a connection to every master (one for a single server), for what must
  // be asked of each: SCAN, INFO. They live as long as the client.
  virtual std::vector<connection*> masters() = 0;
  // is_cluster says whether this is a Redis Cluster.
  virtual bool is_cluster() const = 0;
};

}  // namespace dmq::redis
