#include "ingest/caller_ip.h"

#include <vector>

namespace dmq::ingest {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_commas(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    auto c = s.find(',');
    out.push_back(trim(s.substr(0, c)));
    if (c == std::string_view::npos) break;
    s.remove_prefix(c + 1);
  }
  return out;
}

}  // namespace

bool allowed(const util::ip_address& ip, std::span<const util::ip_range> ranges) {
  for (const auto& r : ranges)
    if (r.contains(ip)) return true;
  return false;
}

std::optional<caller> caller_ip(const http::request& req,
                                std::span<const util::ip_range> trusted_proxies) {
  caller c{req.peer, req.peer_text};
  if (!allowed(c.ip, trusted_proxies)) return c;
  if (!req.forwarded_for.empty()) {
    auto hops = split_commas(req.forwarded_for);
    for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
      auto ip = util::parse_ip(*it);
      if (!ip) return std::nullopt;
      c = {*ip, std::string(*it)};
      if (!allowed(*ip, trusted_proxies)) return c;
    }
    return c;  // every hop is a trusted proxy: the leftmost one is the caller
  }
  if (!req.real_ip.empty()) {
    auto ip = util::parse_ip(trim(req.real_ip));
    if (!ip) return std::nullopt;
    return caller{*ip, std::string(trim(req.real_ip))};
  }
  return c;
}

}  // namespace dmq::ingest
