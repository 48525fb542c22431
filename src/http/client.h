// client: the HTTP/1.1 client that delivers messages to consumers (Boost.Beast's parser,
// and OpenSSL for https), with a keep-alive connection pool per host:port. A request is
// written by hand in one gathered send (header, then the body as it is), and an answer is
// parsed for its status only, so a delivery allocates next to nothing here. Beast stays
// inside client.cc.
//
// A request never takes longer than its timeout (connect, write and read together), and
// is sent once: a pooled connection is checked to be still open before it is reused, and
// a failure after sending is the attempt's failure (the consumer may have read it).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dmq::http {

struct client_request {
  std::string host;  // name or address
  std::string port;
  bool tls = false;     // https: certificate and host name verified
  std::string ca_file;  // tls: PEM file of trusted CAs; empty = the system's store
  bool tls_verify = true;
  std::string target;
  std::string body;
  // headers besides Host and Content-Length; the viewed strings must outlive post(). CR,
  // LF and NUL in a name or value are sent as spaces, so none can add a header.
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::chrono::milliseconds timeout{600};
  // keep_body: keep the first keep_body bytes of the answer's body (client_response::body),
  // for the attempt history; 0: the body is read and dropped.
  std::size_t keep_body = 0;
};

struct client_response {
  int status = 0;     // 0 when no answer came
  std::string error;  // why no answer came: "timeout", "connection refused", ...
  // local: the request never left this host, for want of a descriptor or memory (EMFILE,
  // ENFILE, ENOBUFS, ENOMEM): no fault of the consumer's, so no attempt of the delivery.
  bool local = false;
  std::string body;  // the first request.keep_body bytes of the answer's body
};

class client {
 public:
  explicit client(boost::asio::any_io_executor ex, std::size_t max_idle_per_host = 256);
  ~client();

  // post sends req and returns the answer's status, or why there was none.
  boost::asio::awaitable<client_response> post(const client_request& req);

  // idle_connections returns how many pooled connections wait for reuse (for tests).
  std::size_t idle_connections() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace dmq::http
