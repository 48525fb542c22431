#include "storage/record.h"

#include <array>
#include <charconv>

namespace dmq::storage {

namespace {

constexpr char v2_marker = '~';

// The v2 status letters; dmq writes no other status.
constexpr std::array<std::pair<char, std::string_view>, 5> letters{
    {{'w', "waiting"}, {'d', "doing"}, {'o', "done"}, {'f', "failure"}, {'c', "cancelled"}}};

char letter_of(std::string_view status) {
  for (const auto& [c, name] : letters)
    if (name == status) return c;
  return 0;
}

std::string_view status_of(char letter) {
  for (const auto& [c, name] : letters)
    if (c == letter) return name;
  return {};
}

void put(std::string& out, std::string_view field) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, field.size());
  out.append(buf, p);
  out += ':';
  out += field;
}

void put_int(std::string& out, std::int64_t v, int base = 10) {
  char buf[72];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v, base);
  out.append(buf, p);
}

// put_state writes a v2 consumer state field: the status letter, then the attempts.
void put_state(std::string& out, char letter, int attempts) {
  char buf[24];
  buf[0] = letter;
  auto [p, ec] = std::to_chars(buf + 1, buf + sizeof buf, attempts);
  put(out, std::string_view(buf, p));
}

// fields splits s into its length-prefixed fields; nullopt if s is malformed.
std::optional<std::vector<std::string_view>> fields(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    auto colon = s.find(':', pos);
    if (colon == std::string_view::npos) return std::nullopt;
    std::size_t len = 0;
    auto [p, ec] = std::from_chars(s.data() + pos, s.data() + colon, len);
    if (ec != std::errc{} || p != s.data() + colon || len > s.size() - colon - 1)
      return std::nullopt;
    out.push_back(s.substr(colon + 1, len));
    pos = colon + 1 + len;
  }
  return out;
}

template <class Int>
bool to_int(std::string_view s, Int& v, int base = 10) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  return ec == std::errc{} && p == s.data() + s.size();
}

// The v2 header's numbers are differences of ms, computed modulo 2^64 so that every pair of
// int64 values has one (real ones are small).
std::int64_t minus(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}
std::int64_t plus(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}

std::string encode_head_v2(const model::message& m, std::int64_t data_expire_at_ms,
                           std::size_t consumers) {
  std::string out;
  out.reserve(40 + m.cmd.size() + m.bucket.size() + m.request_id.size() + m.params.size() +
              consumers * 24);
  out += v2_marker;
  put_int(out, m.due_ms, 36);
  out += ',';
  put_int(out, minus(m.due_ms, m.create_ms), 36);
  out += ',';
  put_int(out, minus(data_expire_at_ms, m.due_ms), 36);
  out += ',';
  put(out, m.cmd);
  put(out, m.bucket);
  put(out, m.request_id);
  put(out, m.params);
  return out;
}

std::optional<record> decode_v1(std::string_view s) {
  auto f = fields(s);
  if (!f || f->size() < 7 || (f->size() - 7) % 3 != 0) return std::nullopt;
  const auto& v = *f;
  record r;
  if (!to_int(v[0], r.msg.due_ms) || !to_int(v[1], r.msg.create_ms) ||
      !to_int(v[2], r.data_expire_at_ms))
    return std::nullopt;
  r.msg.cmd = v[3];
  r.msg.bucket = v[4];
  r.msg.request_id = v[5];
  r.msg.params = v[6];
  r.consumers.reserve((v.size() - 7) / 3);
  for (std::size_t i = 7; i + 2 < v.size(); i += 3) {
    consumer_state c{std::string(v[i]), std::string(v[i + 1]), 0};
    if (!to_int(v[i + 2], c.attempts)) return std::nullopt;
    r.consumers.push_back(std::move(c));
  }
  return r;
}

// header_number reads a signed base-36 number of the v2 header ending at the next ',' of s
// from pos, and moves pos past that comma.
bool header_number(std::string_view s, std::size_t& pos, std::int64_t& v) {
  auto comma = s.find(',', pos);
  if (comma == std::string_view::npos || !to_int(s.substr(pos, comma - pos), v, 36)) return false;
  pos = comma + 1;
  return true;
}

std::optional<record> decode_v2(std::string_view s) {
  std::size_t pos = 1;
  std::int64_t due = 0, since_create = 0, data_ttl = 0;
  if (!header_number(s, pos, due) || !header_number(s, pos, since_create) ||
      !header_number(s, pos, data_ttl))
    return std::nullopt;
  auto f = fields(s.substr(pos));
  if (!f || f->size() < 4 || (f->size() - 4) % 2 != 0) return std::nullopt;
  const auto& v = *f;
  record r;
  r.msg.due_ms = due;
  r.msg.create_ms = minus(due, since_create);
  r.data_expire_at_ms = plus(due, data_ttl);
  r.msg.cmd = v[0];
  r.msg.bucket = v[1];
  r.msg.request_id = v[2];
  r.msg.params = v[3];
  r.consumers.reserve((v.size() - 4) / 2);
  for (std::size_t i = 4; i + 1 < v.size(); i += 2) {
    auto state = v[i + 1];
    auto status = state.empty() ? std::string_view{} : status_of(state[0]);
    consumer_state c{std::string(v[i]), std::string(status), 0};
    if (status.empty() || !to_int(state.substr(1), c.attempts)) return std::nullopt;
    r.consumers.push_back(std::move(c));
  }
  return r;
}

}  // namespace

const consumer_state* record::status(std::string_view consumer) const {
  for (const auto& c : consumers)
    if (c.name == consumer) return &c;
  return nullptr;
}

std::string encode_record(const model::message& m, std::int64_t data_expire_at_ms,
                          std::span<const std::string> consumers) {
  auto out = encode_head_v2(m, data_expire_at_ms, consumers.size());
  for (const auto& c : consumers) {
    put(out, c);
    put(out, "w0");
  }
  return out;
}

std::string encode(const record& r) {
  for (const auto& c : r.consumers)
    if (!letter_of(c.status)) return encode_v1(r);
  auto out = encode_head_v2(r.msg, r.data_expire_at_ms, r.consumers.size());
  for (const auto& c : r.consumers) {
    put(out, c.name);
    put_state(out, letter_of(c.status), c.attempts);
  }
  return out;
}

std::string encode_v1(const record& r) {
  std::string out;
  put(out, std::to_string(r.msg.due_ms));
  put(out, std::to_string(r.msg.create_ms));
  put(out, std::to_string(r.data_expire_at_ms));
  put(out, r.msg.cmd);
  put(out, r.msg.bucket);
  put(out, r.msg.request_id);
  put(out, r.msg.params);
  for (const auto& c : r.consumers) {
    put(out, c.name);
    put(out, c.status);
    put(out, std::to_string(c.attempts));
  }
  return out;
}

std::optional<record> decode_record(std::string_view s) {
  if (!s.empty() && s[0] == v2_marker) return decode_v2(s);
  return decode_v1(s);
}

}  // namespace dmq::storage
