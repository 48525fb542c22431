#include "dispatch/endpoint.h"

namespace dmq::dispatch {

endpoint parse_endpoint(const config::consumer& c) {
  endpoint e;
  std::string_view h = c.host;
  if (h.starts_with("https://")) {
    e.tls = true;
    h.remove_prefix(8);
  } else if (h.starts_with("http://")) {
    h.remove_prefix(7);
  }
  while (h.ends_with('/')) h.remove_suffix(1);
  auto colon = h.rfind(':');
  bool v6 = h.starts_with('[');
  if (colon != std::string_view::npos && (!v6 || h[colon - 1] == ']')) {
    e.host = std::string(h.substr(0, colon));
    e.port = std::string(h.substr(colon + 1));
  } else {
    e.host = std::string(h);
    e.port = e.tls ? "443" : "80";
  }
  if (e.host.starts_with('[') && e.host.ends_with(']'))
    e.host = e.host.substr(1, e.host.size() - 2);
  e.path = c.path.empty() ? "/" : c.path;
  return e;
}

std::string endpoint::target(std::uint64_t id, int retry) const {
  std::string t = path;
  t += path.find('?') == std::string::npos ? '?' : '&';
  t += "msg_id=" + std::to_string(id) + "&retry=" + std::to_string(retry);
  return t;
}

}  // namespace dmq::dispatch
