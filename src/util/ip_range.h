// ip_range: an IPv4 or IPv6 address or CIDR range ("127.0.0.1", "10.0.0.0/8",
// "::1", "fd00::/8"), used for allow_ip and trusted_proxies.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace dmq::util {

// ip_address: 16 bytes; IPv4 is held IPv4-mapped (::ffff:a.b.c.d) so both families compare.
using ip_address = std::array<unsigned char, 16>;

// parse_ip parses a textual IPv4 or IPv6 address; nullopt if it is not one.
std::optional<ip_address> parse_ip(std::string_view text);

struct ip_range {
  ip_address base{};
  int prefix_len = 128;  // in bits of the 16-byte form (IPv4 /8 is 96 + 8)
  std::string text;      // as written in the configuration

  // parse parses "addr" or "addr/len"; nullopt if malformed or len out of range.
  static std::optional<ip_range> parse(std::string_view text);
  // contains says whether addr lies inside this range.
  bool contains(const ip_address& addr) const;
};

}  // namespace dmq::util
