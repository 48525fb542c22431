// session: one CLI invocation's calls to dmq's API. It unwraps the envelope
// ({"code","message","data"}), says on stderr why a call failed, and keeps the exit code
// that failure means (exit_code below).
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "cli/connection.h"

namespace dmq::cli {

// The CLI's exit codes (docs/operations.md, "Command line").
enum exit_code : int {
  exit_ok = 0,
  exit_api_error = 1,    // dmq answered an error (its envelope's code != 0)
  exit_usage = 2,        // bad flags or arguments
  exit_unreachable = 3,  // no answer, or an answer that is not dmq's envelope
  exit_not_allowed = 4,  // HTTP 403 or code 103: the token or address may not do this
  exit_not_found = 5,    // code 114: no such message
};

// exit_for returns the exit code of an answer with HTTP status and envelope code.
int exit_for(int http_status, std::int64_t code);

// query builds a target's query string: ?a=1&b=x%20y, skipping what was not given.
class query {
 public:
  query& add(const char* name, const std::string& value);
  // add_if adds name only when value is not empty.
  query& add_if(const char* name, const std::string& value) {
    return value.empty() ? *this : add(name, value);
  }
  std::string str() const { return text_; }

 private:
  std::string text_;
};

// percent_encoded returns s with every byte but RFC 3986's unreserved ones as %XX.
std::string percent_encoded(const std::string& s);

class session {
 public:
  session(connection c, bool json, std::ostream& out, std::ostream& err)
      : conn_(std::move(c)), json_(json), out_(out), err_(err) {}

  // call makes one API call (body: JSON, for POST) and returns the envelope's data when
  // its code is 0; otherwise it prints why on stderr, keeps the exit code, returns nullopt.
  std::optional<boost::json::value> call(const std::string& method, const std::string& target,
                                         const boost::json::value* body = nullptr);
  std::optional<boost::json::value> get(const std::string& target) { return call("GET", target); }
  std::optional<boost::json::value> post(const std::string& target, const boost::json::value& b) {
    return call("POST", target, &b);
  }

  // print_json writes v as one line of compact JSON (--json).
  void print_json(const boost::json::value& v);
  // fail says why on stderr ("dmq: why") and keeps code as the exit code.
  int fail(int code, const std::string& why);

  bool json() const { return json_; }
  int exit() const { return exit_; }
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  const connection& conn() const { return conn_; }

 private:
  connection conn_;
  bool json_;
  std::ostream& out_;
  std::ostream& err_;
  int exit_ = exit_ok;
};

}  // namespace dmq::cli
