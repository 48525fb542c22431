#include "storage/record.h"

#include <charconv>

namespace dmq::storage {

namespace {

void put(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
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
bool to_int(std::string_view s, Int& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && p == s.data() + s.size();
}

}  // namespace

const consumer_state* record::status(std::string_view consumer) const {
  for (const auto& c : consumers)
    if (c.name == consumer) return &c;
  return nullptr;
}

namespace {

std::string encode_head(const model::message& m, std::int64_t data_expire_at_ms,
                        std::size_t consumers) {
  std::string out;
  out.reserve(64 + m.cmd.size() + m.bucket.size() + m.request_id.size() + m.params.size() +
              consumers * 24);
  put(out, std::to_string(m.due_ms));
  put(out, std::to_string(m.create_ms));
  put(out, std::to_string(data_expire_at_ms));
  put(out, m.cmd);
  put(out, m.bucket);
  put(out, m.request_id);
  put(out, m.params);
  return out;
}

}  // namespace

std::string encode_record(const model::message& m, std::int64_t data_expire_at_ms,
                          std::span<const std::string> consumers) {
  auto out = encode_head(m, data_expire_at_ms, consumers.size());
  for (const auto& c : consumers) {
    put(out, c);
    put(out, "waiting");
    put(out, "0");
  }
  return out;
}

std::string encode(const record& r) {
  auto out = encode_head(r.msg, r.data_expire_at_ms, r.consumers.size());
  for (const auto& c : r.consumers) {
    put(out, c.name);
    put(out, c.status);
    put(out, std::to_string(c.attempts));
  }
  return out;
}

std::optional<record> decode_record(std::string_view s) {
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
  for (std::size_t i = 7; i + 2 < v.size(); i += 3) {
    consumer_state c{std::string(v[i]), std::string(v[i + 1]), 0};
    if (!to_int(v[i + 2], c.attempts)) return std::nullopt;
    r.consumers.push_back(std::move(c));
  }
  return r;
}

}  // namespace dmq::storage
