// server: the asynchronous HTTP/1.1 server (Asio, C++20 coroutines) that carries dmq's
// API. One coroutine per connection: read a request (Beast's parser) within the read
// timeout and the body limit, hand it to the handler, write the answer (serialised by
// hand: a status line and three headers), keep the connection alive. Timeouts are checked
// by one timer for all connections, not one per read or write (W1: -25% CPU per request
// in dmq with both changes, docs/performance.md).
//
// With options.tls set, the port speaks HTTPS only: each connection first completes a TLS
// handshake (within the read timeout) with the context current when it was accepted, then
// runs the same loop over the TLS stream. Plain connections keep the plain socket type.
//
// shutdown() stops accepting, closes idle connections, lets requests in flight finish
// within a deadline, and returns when no connection is left.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "http/message.h"

namespace dmq::http {

class tls_context;

struct server_options {
  std::string listen = "0.0.0.0";
  int port = 8989;  // 0: any free port, see server::port()
  std::size_t max_body_bytes = 4 << 20;
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000};
  int max_connections = 10000;
  // reuse_port opens the port with SO_REUSEPORT: several processes (or sockets) listen on
  // it at once, each bound with it, and the kernel spreads new connections over them.
  // Without it, a port another socket listens on fails to bind (address_in_use).
  bool reuse_port = false;
  // too_large builds the answer to a body over max_body_bytes (status set by the server).
  std::function<response()> too_large;
  // malformed builds the answer to a request that cannot be parsed (status 400, 431 or 505
  // set by the server; why says what was wrong, in ASCII). Unset: malformed_answer
  // (request_reader.h), the API's envelope with code 128.
  std::function<response(int status, std::string_view why)> malformed;
  // observe, if set, is told of every answer the handler made, and how long it took (s).
  std::function<void(const request&, const response&, double)> observe;
  // accept_errors, if set, counts failed accepts (EMFILE and the like: retried after 50 ms).
  std::uint64_t* accept_errors = nullptr;
  // tls, if set, makes the port HTTPS only, with tls->current() for each new connection.
  std::shared_ptr<tls_context> tls;
  // tls_handshake_failures, if set, counts TLS handshakes that failed or timed out.
  std::uint64_t* tls_handshake_failures = nullptr;
};

using handler = std::function<boost::asio::awaitable<response>(request&)>;

class server {
 public:
  server(boost::asio::any_io_executor ex, server_options opt, handler h);
  ~server();

  // listen binds and starts accepting; returns the error if it cannot bind.
  std::error_code listen();
  // port returns the bound port.
  int port() const;
  // connections returns how many connections are open.
  std::size_t connections() const;
  // shutdown stops accepting and waits for connections to finish, at most deadline.
  boost::asio::awaitable<void> shutdown(std::chrono::milliseconds deadline);

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace dmq::http
