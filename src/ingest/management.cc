#include "ingest/management.h"

#include <charconv>

#include "ingest/envelope.h"

namespace dmq::ingest {

std::variant<consumer_ref, refusal> find_consumer(const config::settings& cfg,
                                                  const std::string& name, bool present) {
  if (!present || name.empty()) return refusal{errc::invalid, "consumer: is required"};
  auto [cmd, c] = cfg.find_consumer(name);
  if (!c) return refusal{errc::invalid, "consumer: '" + name + "' is not configured"};
  return consumer_ref{cmd, c};
}

std::optional<std::int64_t> query_int(const http::request& req, std::string_view name,
                                      std::int64_t fallback, bool& ok) {
  bool present = false;
  auto text = req.query_param(name, &present);
  ok = true;
  if (!present || text.empty()) return fallback;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) {
    ok = false;
    return std::nullopt;
  }
  return v;
}

http::response not_allowed(std::string_view project) {
  return fail(errc::unknown_producer,
              "not allowed: this caller may not manage the messages of project '" +
                  std::string(project) + "' (its allow_ip or tokens, or admin)",
              403);
}

std::variant<credential, http::response> manager(const http::request& req,
                                                 const config::settings& cfg) {
  auto who = identify(req, cfg);
  if (auto* why = std::get_if<std::string>(&who)) return fail(errc::invalid, *why);
  auto& c = std::get<credential>(who);
  if (!is_admin(cfg, c) && managed_projects(cfg, c).empty())
    return fail(errc::unknown_producer,
                "not allowed: this caller may manage no project (a project's allow_ip or "
                "tokens, or admin)",
                403);
  return std::move(c);
}

std::variant<consumer_ref, http::response> managed_consumer(const config::settings& cfg,
                                                            const credential& who,
                                                            const std::string& name, bool present) {
  auto c = find_consumer(cfg, name, present);
  if (auto* r = std::get_if<refusal>(&c)) return fail(r->code, r->text);
  auto ref = std::get<consumer_ref>(c);
  if (!may_manage(cfg, ref.command->project, who)) return not_allowed(ref.command->project);
  return ref;
}

std::variant<named_consumer, http::response> queried_consumer(const http::request& req,
                                                              const config::settings& cfg) {
  auto who = manager(req, cfg);
  if (auto* r = std::get_if<http::response>(&who)) return std::move(*r);
  bool present = false;
  auto name = req.query_param("consumer", &present);
  auto c = managed_consumer(cfg, std::get<credential>(who), name, present);
  if (auto* r = std::get_if<http::response>(&c)) return std::move(*r);
  return named_consumer{std::get<consumer_ref>(c), std::move(name)};
}

}  // namespace dmq::ingest
