#include "ingest/validate.h"

#include <boost/json/value.hpp>
#include <charconv>
#include <optional>

#include "model/id_generator.h"

namespace dmq::ingest {

namespace {

using boost::json::value;
using field_result = std::variant<std::string, refusal>;

refusal bad(std::string_view field, std::string_view why) {
  return {errc::invalid, std::string(field) + ": " + std::string(why)};
}

// string_field reads a string field; absent or null gives "" unless required.
field_result string_field(const boost::json::object& o, std::string_view name, bool required,
                          std::size_t max_bytes) {
  auto* v = o.if_contains(name);
  if (!v || v->is_null()) {
    if (required) return bad(name, "is required (a non-empty string)");
    return std::string{};
  }
  if (!v->is_string()) return bad(name, "must be a string");
  const auto& s = v->get_string();
  if (required && s.empty()) return bad(name, "must be a non-empty string");
  if (s.size() > max_bytes)
    return bad(name, "is " + std::to_string(s.size()) + " bytes, the limit is " +
                         std::to_string(max_bytes));
  return std::string(s);
}

// int_field reads a non-negative integer field; absent or null gives 0.
std::variant<std::int64_t, refusal> int_field(const boost::json::object& o, std::string_view name) {
  auto* v = o.if_contains(name);
  if (!v || v->is_null()) return std::int64_t{0};
  std::int64_t n = 0;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64()) {
    return bad(name, "is too large");
  } else if (v->is_double()) {
    double d = v->get_double();
    if (d != d || d < -9.0e18 || d > 9.0e18) return bad(name, "must be an integer");
    n = static_cast<std::int64_t>(d);
    if (static_cast<double>(n) != d) return bad(name, "must be an integer");
  } else {
    return bad(name, "must be an integer");
  }
  if (n < 0) return bad(name, "must not be negative");
  return n;
}

}  // namespace

std::variant<accepted, refusal> validate_message(const value& v, const config::settings& cfg,
                                                 const credential& who, std::int64_t now_ms,
                                                 std::string_view header_key) {
  if (!v.is_object()) return bad("message", "must be a JSON object");
  const auto& o = v.get_object();
  const auto field_max = cfg.limits.max_field_bytes;

  model::message m;
  struct text_field {
    const char* name;
    bool required;
    std::size_t max;
    std::string* out;
  } fields[] = {{"project", true, field_max, &m.project},
                {"cmd", true, field_max, &m.cmd},
                {"bucket", true, field_max, &m.bucket},
                {"params", false, cfg.limits.max_params_bytes, &m.params},
                {"request_id", false, field_max, &m.request_id},
                {"idempotency_key", false, field_max, &m.idempotency_key}};
  for (auto& f : fields) {
    auto r = string_field(o, f.name, f.required, f.max);
    if (auto* e = std::get_if<refusal>(&r)) return *e;
    *f.out = std::move(std::get<std::string>(r));
  }

  auto ts = int_field(o, "timestamp");
  if (auto* e = std::get_if<refusal>(&ts)) return *e;
  auto delay = int_field(o, "delay_ms");
  if (auto* e = std::get_if<refusal>(&delay)) return *e;
  auto timestamp = std::get<std::int64_t>(ts);
  auto delay_ms = std::get<std::int64_t>(delay);
  if (timestamp > latest_timestamp)
    return bad("timestamp", "must be in seconds (for milliseconds use delay_ms)");
  if (timestamp > 0 && delay_ms > 0) return bad("delay_ms", "give timestamp or delay_ms, not both");
  if (delay_ms > latest_timestamp * 1000 - now_ms) return bad("delay_ms", "is too large");
  m.create_ms = now_ms;
  m.due_ms = timestamp > 0 ? timestamp * 1000 : now_ms + delay_ms;

  const auto* producer = cfg.find_producer(m.project);
  if (!producer)
    return refusal{errc::unknown_producer,
                   "project: '" + m.project + "' is not a producer in product_list"};
  if (!may_act_for(*producer, who)) return refusal{errc::unknown_producer, why_not(*producer, who)};
  if (!header_key.empty()) {
    if (header_key.size() > field_max)
      return bad("Idempotency-Key", "is " + std::to_string(header_key.size()) +
                                        " bytes, the limit is " + std::to_string(field_max));
    if (!m.idempotency_key.empty() && m.idempotency_key != header_key)
      return bad("idempotency_key", "differs from the Idempotency-Key header");
    m.idempotency_key = header_key;
  }
  if (m.idempotency_key.empty() && producer->idempotency_from_request_id)
    m.idempotency_key = m.request_id;
  if (producer->idempotency_window_ms == 0) m.idempotency_key.clear();  // keys turned off
  const auto* command = cfg.find_command(m.cmd);
  if (!command) return refusal{errc::unknown_command, "cmd: '" + m.cmd + "' is not configured"};
  if (command->project != m.project)
    return refusal{errc::unknown_command,
                   "cmd: '" + m.cmd + "' belongs to project '" + command->project + "'"};
  return accepted{std::move(m), command, producer};
}

std::uint64_t parse_id_text(std::string_view text) {
  std::uint64_t id = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || p != text.data() + text.size() || id > model::id_generator::max_id)
    return 0;
  return id;
}

std::uint64_t parse_id(const value& v) {
  if (v.is_int64()) return v.get_int64() > 0 ? parse_id_text(std::to_string(v.get_int64())) : 0;
  if (v.is_uint64()) return parse_id_text(std::to_string(v.get_uint64()));
  if (v.is_string()) return parse_id_text(std::string_view(v.get_string()));
  return 0;
}

}  // namespace dmq::ingest
