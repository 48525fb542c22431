// message: the HTTP request and response as handlers see them, free of Beast, so that
// handlers compile without it.
#pragma once

#include <string>
#include <string_view>

#include "util/ip_range.h"

namespace dmq::http {

struct request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as sent
  std::string body;
  std::string content_type;
  std::string forwarded_for;    // X-Forwarded-For, every line joined with ", "
  std::string real_ip;          // X-Real-Ip, as sent (lines joined with ", ")
  std::string authorization;    // Authorization, as sent
  std::string idempotency_key;  // Idempotency-Key, as sent (lines joined with ", ")
  std::string if_none_match;    // If-None-Match, as sent (the dashboard's assets: 304)
  util::ip_address peer{};      // the socket's peer
  std::string peer_text;
  std::string dmq_headers;  // every X-Dmq-* field as "Name: value", joined with ", "

  // path returns target without its query.
  std::string_view path() const;
  // query_param returns the decoded value of name in the query; empty if absent.
  // present, if given, is set to whether it was there at all.
  std::string query_param(std::string_view name, bool* present = nullptr) const;
};

struct response {
  int status = 200;
  std::string body;
  std::string_view content_type = "application/json; charset=utf-8";  // a literal
  int retry_after_s = 0;  // > 0: a Retry-After header (503 when overloaded)
  std::string headers{};  // more header lines, each "\r\nName: value" (the dashboard's)
};

}  // namespace dmq::http
