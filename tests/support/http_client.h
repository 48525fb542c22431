// http_client: a small blocking HTTP/1.1 client over a real loopback socket, able to send
// raw (malformed) bytes too. For tests only.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dmq::test {

struct http_reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;

  // json parses the body; a test failure (exception) if it is not JSON.
  boost::json::value json() const;
  // code is the envelope's "code"; data its "data".
  long long code() const;
  boost::json::value data() const;
};

using header_list = std::vector<std::pair<std::string, std::string>>;

class http_client {
 public:
  explicit http_client(int port);
  // http_client(port, source) connects from the loopback address source (e.g. "127.0.0.5":
  // all of 127.0.0.0/8 is loopback on Linux), so that a test can be several callers.
  http_client(int port, const std::string& source);
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  // request sends one request on this (keep-alive) connection and reads the answer. With
  // DMQ_RESPONSE_LOG set, each answer is also recorded (record_response).
  http_reply request(const std::string& method, const std::string& target,
                     const std::string& body = "", const header_list& headers = {});
  // send_raw writes bytes as they are.
  void send_raw(const std::string& bytes);
  // read_reply reads one answer; nullopt if the connection closed or bound passed first.
  std::optional<http_reply> read_reply(std::chrono::milliseconds bound = std::chrono::seconds(5));
  // closed says whether the server closed the connection within bound.
  bool closed(std::chrono::milliseconds bound = std::chrono::seconds(5));

 private:
  int fd_ = -1;
  std::string buf_;
};

// record_response appends {"method","target","status","content_type","body"} as one JSON
// line to the file named by the environment's DMQ_RESPONSE_LOG, if set: the OpenAPI check
// (tests/node/check_responses.js) validates the e2e tests' answers against docs/openapi.json.
void record_response(const std::string& method, const std::string& target, const http_reply& r);

// call makes one request on a new connection.
http_reply call(int port, const std::string& method, const std::string& target,
                const std::string& body = "", const header_list& headers = {});
// call_from makes one request on a new connection from the address source.
http_reply call_from(const std::string& source, int port, const std::string& method,
                     const std::string& target, const std::string& body = "",
                     const header_list& headers = {});

}  // namespace dmq::test
