// caller_ip: the address a request comes from. The socket's peer, unless that peer is a
// trusted proxy: then the nearest untrusted address in X-Forwarded-For (read from the
// right), else X-Real-Ip. The seed trusted those headers from anyone; dmq does not.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "http/message.h"
#include "util/ip_range.h"

namespace dmq::ingest {

struct caller {
  util::ip_address ip;
  std::string text;
};

// caller_ip returns the caller of req; nullopt if a trusted proxy sent an unparsable header.
std::optional<caller> caller_ip(const http::request& req,
                                std::span<const util::ip_range> trusted_proxies);

// allowed says whether ip is inside any of ranges.
bool allowed(const util::ip_address& ip, std::span<const util::ip_range> ranges);

}  // namespace dmq::ingest
