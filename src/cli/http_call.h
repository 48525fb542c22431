// http_call: one blocking HTTP(S) request from the command line to a running dmq, bounded
// by a timeout that covers everything (name resolution, connect, TLS, write, read). It
// runs Beast on an io_context of its own, so the CLI needs no threads and no event loop.
#pragma once

#include <chrono>
#include <string>

namespace dmq::cli {

// endpoint: where dmq is, as parsed from a URL like https://host:8989/prefix.
struct endpoint {
  bool tls = false;
  std::string host;  // name or address, without brackets
  std::string port;
  std::string base_path;  // "" or "/prefix" (a reverse proxy's), never ending with '/'
};

// parse_url reads url into out; returns "" or why it is not a usable http(s) URL.
std::string parse_url(const std::string& url, endpoint& out);

struct call_options {
  std::string token;      // sent as Authorization: Bearer; none when empty
  std::string ca_file;    // https: PEM file of trusted CAs; empty = the system's store
  bool insecure = false;  // https: no certificate verification (a test's self-signed cert)
  std::chrono::milliseconds timeout{10000};
};

struct call_result {
  int status = 0;     // HTTP status; 0 when no answer came
  std::string body;   // the answer's body
  std::string error;  // why no answer came ("connection refused", "timeout", ...)
};

// http_call sends METHOD base_path+target (target holds the query) with body (JSON when
// not empty, or for POST) and returns the answer.
call_result http_call(const endpoint& at, const call_options& opt, const std::string& method,
                      const std::string& target, const std::string& body);

}  // namespace dmq::cli
