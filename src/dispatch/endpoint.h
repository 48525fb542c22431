// endpoint: where a consumer's deliveries go, parsed from its host and path as the seed
// wrote them: host "127.0.0.1:8959" (http:// added) or "http://h:p" / "https://h:p",
// path "/api/x" or "/api/x?a=1".
#pragma once

#include <cstdint>
#include <string>

#include "config/config.h"

namespace dmq::dispatch {

struct endpoint {
  bool tls = false;
  std::string host;
  std::string port;
  std::string path;  // with its query, if any

  // target returns path + "?msg_id=ID&retry=N" ("&" when path has a query already).
  std::string target(std::uint64_t id, int retry) const;
};

// parse_endpoint reads a consumer's host and path.
endpoint parse_endpoint(const config::consumer& c);

}  // namespace dmq::dispatch
