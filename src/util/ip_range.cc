#include "util/ip_range.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace dmq::util {

namespace {

// parse_v4 parses dotted-quad text into the IPv4-mapped form; nullopt if it is not IPv4.
std::optional<ip_address> parse_v4(const std::string& text) {
  in_addr a{};
  if (::inet_pton(AF_INET, text.c_str(), &a) != 1) return std::nullopt;
  ip_address out{};
  out[10] = 0xff;
  out[11] = 0xff;
  std::memcpy(out.data() + 12, &a, 4);
  return out;
}

// parse_v6 parses IPv6 text; nullopt if it is not IPv6 (zone ids such as "%eth0" are refused).
std::optional<ip_address> parse_v6(const std::string& text) {
  in6_addr a{};
  if (::inet_pton(AF_INET6, text.c_str(), &a) != 1) return std::nullopt;
  ip_address out{};
  std::memcpy(out.data(), &a, 16);
  return out;
}

// parse_prefix parses the decimal length after '/'; nullopt unless it is 0..max.
std::optional<int> parse_prefix(std::string_view text, int max) {
  if (text.empty() || text.size() > 3) return std::nullopt;
  int n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 0 || n > max)
    return std::nullopt;
  return n;
}

// mask clears every bit of addr past the first prefix_len.
ip_address mask(ip_address addr, int prefix_len) {
  for (int i = 0; i < 16; ++i) {
    int keep = prefix_len - i * 8;
    if (keep >= 8) continue;
    addr[i] &= keep <= 0 ? 0 : static_cast<unsigned char>(0xff << (8 - keep));
  }
  return addr;
}

}  // namespace

std::optional<ip_address> parse_ip(std::string_view text) {
  // The longest textual IPv6 address (with an embedded IPv4) is 45 characters.
  if (text.empty() || text.size() > 45) return std::nullopt;
  std::string s(text);
  if (auto v4 = parse_v4(s)) return v4;
  return parse_v6(s);
}

std::optional<ip_range> ip_range::parse(std::string_view text) {
  auto slash = text.find('/');
  auto addr_text = text.substr(0, slash);
  if (addr_text.empty() || addr_text.size() > 45) return std::nullopt;
  std::string s(addr_text);
  int offset = 0;
  int max = 128;
  auto addr = parse_v4(s);
  if (addr) {
    offset = 96;  // IPv4 lengths count from the mapped prefix
    max = 32;
  } else if (!(addr = parse_v6(s))) {
    return std::nullopt;
  }
  int len = max;
  if (slash != std::string_view::npos) {
    auto n = parse_prefix(text.substr(slash + 1), max);
    if (!n) return std::nullopt;
    len = *n;
  }
  ip_range r;
  r.prefix_len = offset + len;
  r.base = mask(*addr, r.prefix_len);
  r.text = std::string(text);
  return r;
}

bool ip_range::contains(const ip_address& addr) const {
  return mask(addr, prefix_len) == base;
}

}  // namespace dmq::util
