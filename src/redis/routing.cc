#include "redis/routing.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>

#include "redis/slot.h"

namespace dmq::redis {

namespace {

// read_number reads "<digits>\r\n" at s[pos]; advances pos.
std::optional<std::size_t> read_number(std::string_view s, std::size_t& pos) {
  auto end = s.find("\r\n", pos);
  if (end == std::string_view::npos || end == pos) return std::nullopt;
  if (end - pos > 1 && s[pos] == '0') return std::nullopt;  // as command.h writes: no 0 first
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(s.data() + pos, s.data() + end, n);
  if (ec != std::errc{} || p != s.data() + end) return std::nullopt;
  pos = end + 2;
  return n;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::optional<std::vector<parsed_command>> parse_pipeline(std::string_view bytes) {
  std::vector<parsed_command> out;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    auto start = pos;
    if (bytes[pos++] != '*') return std::nullopt;
    auto n = read_number(bytes, pos);
    // Each argument takes 6 bytes at least ("$0\r\n\r\n"): a count beyond what is left
    // is not reserved (or believed).
    if (!n || *n > (bytes.size() - pos) / 6) return std::nullopt;
    parsed_command c;
    c.args.reserve(*n);
    for (std::size_t i = 0; i < *n; ++i) {
      if (pos >= bytes.size() || bytes[pos++] != '$') return std::nullopt;
      auto len = read_number(bytes, pos);
      if (!len || *len > bytes.size() - pos || bytes.size() - pos - *len < 2 ||
          bytes.substr(pos + *len, 2) != "\r\n")
        return std::nullopt;
      c.args.push_back(bytes.substr(pos, *len));
      pos += *len + 2;
    }
    c.bytes = bytes.substr(start, pos - start);
    out.push_back(std::move(c));
  }
  return out;
}

std::optional<std::string_view> first_key(const parsed_command& cmd) {
  const auto& a = cmd.args;
  if (a.size() < 2) return std::nullopt;
  auto name = a[0];
  if (iequals(name, "EVALSHA") || iequals(name, "EVAL") || iequals(name, "EVALSHA_RO") ||
      iequals(name, "EVAL_RO") || iequals(name, "FCALL")) {
    if (a.size() < 4 || a[2] == "0") return std::nullopt;
    return a[3];
  }
  if (iequals(name, "MEMORY") || iequals(name, "OBJECT"))
    return a.size() >= 3 ? std::optional(a[2]) : std::nullopt;
  for (auto keyless :
       {"PING",    "TIME",     "INFO",  "WAIT",   "SCRIPT",  "PUBLISH",  "SUBSCRIBE", "CONFIG",
        "CLUSTER", "SELECT",   "AUTH",  "ASKING", "SCAN",    "DBSIZE",   "CLIENT",    "ACL",
        "COMMAND", "FUNCTION", "MULTI", "EXEC",   "DISCARD", "FLUSHALL", "ECHO"})
    if (iequals(name, keyless)) return std::nullopt;
  return a[1];
}

std::vector<unit> units_of(const std::vector<parsed_command>& cmds) {
  std::vector<unit> out;
  for (std::size_t i = 0; i < cmds.size(); ++i) {
    unit u{i, i, -1, false};
    if (!cmds[i].args.empty() && iequals(cmds[i].args[0], "MULTI")) {
      u.transaction = true;
      while (u.last + 1 < cmds.size() &&
             !(cmds[u.last].args.size() == 1 && iequals(cmds[u.last].args[0], "EXEC")))
        ++u.last;
    }
    for (auto j = u.first; j <= u.last && u.slot < 0; ++j)
      if (auto k = first_key(cmds[j])) u.slot = slot_of(*k);
    i = u.last;
    out.push_back(u);
  }
  return out;
}

std::pair<std::string, int> split_address(std::string_view addr) {
  auto colon = addr.rfind(':');
  if (colon == std::string_view::npos) return {std::string(addr), 0};
  int port = 0;
  for (char c : addr.substr(colon + 1)) {
    if (c < '0' || c > '9') return {std::string(addr), 0};
    port = port * 10 + (c - '0');
    if (port > 65535) return {std::string(addr), 0};
  }
  return {std::string(addr.substr(0, colon)), port};
}

std::optional<redirect> parse_redirect(std::string_view error) {
  redirect r;
  if (error.starts_with("MOVED "))
    error.remove_prefix(6);
  else if (error.starts_with("ASK ")) {
    error.remove_prefix(4);
    r.ask = true;
  } else {
    return std::nullopt;
  }
  auto space = error.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  auto [p, ec] = std::from_chars(error.data(), error.data() + space, r.slot);
  if (ec != std::errc{} || p != error.data() + space || r.slot < 0 || r.slot >= slot_count)
    return std::nullopt;
  auto addr = error.substr(space + 1);
  auto colon = addr.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  r.host = addr.substr(0, colon);
  auto port = addr.substr(colon + 1);
  auto [q, ec2] = std::from_chars(port.data(), port.data() + port.size(), r.port);
  if (ec2 != std::errc{} || q != port.data() + port.size() || r.port <= 0 || r.port > 65535)
    return std::nullopt;
  return r;
}

bool retryable(std::string_view error) {
  return error.starts_with("TRYAGAIN") || error.starts_with("CLUSTERDOWN");
}

}  // namespace dmq::redis
