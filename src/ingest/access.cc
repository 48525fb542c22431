#include "ingest/access.h"

#include <algorithm>
#include <cctype>

#include "ingest/envelope.h"

namespace dmq::ingest {

namespace {

// holds says whether d, a request's token digest if it has one, is one of tokens.
bool holds(const std::optional<util::sha256_digest>& d, const std::vector<config::token>& tokens) {
  return d && config::matches(*d, tokens);
}

bool holds(const config::credentials& c, const credential& who) {
  return allowed(who.from.ip, c.allow_ip) || holds(who.token, c.tokens);
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_loopback(const std::string& listen) {
  auto ip = util::parse_ip(listen);
  if (!ip) return false;
  static const auto v4 = *util::ip_range::parse("127.0.0.0/8");
  static const auto v6 = *util::ip_range::parse("::1");
  return v4.contains(*ip) || v6.contains(*ip);
}

// allows_everyone says whether ranges hold ::/0 or every IPv4 address (0.0.0.0/0, held as
// ::ffff:0.0.0.0/96); not any other /96, such as 2001:db8::/96.
bool allows_everyone(const std::vector<util::ip_range>& ranges) {
  static const auto all_v4 = *util::ip_range::parse("0.0.0.0/0");
  return std::any_of(ranges.begin(), ranges.end(), [](const auto& r) {
    return r.prefix_len == 0 || (r.prefix_len == all_v4.prefix_len && r.base == all_v4.base);
  });
}

}  // namespace

std::string_view bearer_token(std::string_view authorization) {
  auto sp = authorization.find(' ');
  if (sp == std::string_view::npos || !iequals(authorization.substr(0, sp), "Bearer")) return {};
  auto t = authorization.substr(sp + 1);
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  return t.find_first_of(" ,") == std::string_view::npos ? t : std::string_view{};
}

std::variant<credential, std::string> identify(const http::request& req,
                                               const config::settings& cfg) {
  auto from = caller_ip(req, cfg.http.trusted_proxies);
  if (!from) return std::string("X-Forwarded-For: not a list of IP addresses");
  credential who{std::move(*from), std::nullopt};
  if (auto t = bearer_token(req.authorization); !t.empty()) who.token = util::sha256(t);
  return who;
}

bool may_act_for(const config::producer& p, const credential& who) {
  if (p.tokens.empty()) return allowed(who.from.ip, p.allow_ip);
  bool by_token = holds(who.token, p.tokens);
  return by_token && (p.allow_ip.empty() || allowed(who.from.ip, p.allow_ip));
}

std::string why_not(const config::producer& p, const credential& who) {
  auto name = "project: '" + p.project + "' ";
  if (!p.tokens.empty() && !holds(who.token, p.tokens))
    return name + (who.token ? "does not accept this bearer token"
                             : "needs a bearer token (Authorization: Bearer TOKEN)");
  return name + "does not allow callers from " + who.from.text;
}

bool is_admin(const config::settings& cfg, const credential& who) {
  return holds(cfg.admin, who);
}

bool may_manage(const config::settings& cfg, std::string_view project, const credential& who) {
  if (is_admin(cfg, who)) return true;
  const auto* p = cfg.find_producer(project);
  return p && may_act_for(*p, who);
}

std::vector<std::string> managed_projects(const config::settings& cfg, const credential& who) {
  bool admin = is_admin(cfg, who);
  std::vector<std::string> out;
  for (const auto& p : cfg.producers)
    if (admin || may_act_for(p, who)) out.push_back(p.project);
  return out;
}

bool may_read_metrics(const config::settings& cfg, const credential& who) {
  return holds(cfg.metrics, who) || is_admin(cfg, who);
}

std::optional<http::response> metrics_refusal(const http::request& req,
                                              const config::settings& cfg) {
  auto who = identify(req, cfg);
  if (auto* why = std::get_if<std::string>(&who)) return fail(errc::invalid, *why, 400);
  if (may_read_metrics(cfg, std::get<credential>(who))) return std::nullopt;
  return fail(errc::unknown_producer,
              "not allowed: /metrics is for metrics.allow_ip (default loopback), "
              "metrics.tokens or an admin credential",
              403);
}

std::vector<std::string> exposure_warnings(const config::settings& cfg) {
  std::vector<std::string> out;
  if (is_loopback(cfg.http.listen)) return out;
  auto where = "the API listens on " + cfg.http.listen + " (beyond loopback)";
  bool any_token = !cfg.admin.tokens.empty() || !cfg.metrics.tokens.empty();
  for (const auto& p : cfg.producers) {
    any_token |= !p.tokens.empty();
    if (allows_everyone(p.allow_ip) && p.tokens.empty())
      out.push_back(where + " and project '" + p.project +
                    "' allows every address without a token: anyone who reaches the port may "
                    "send, read and cancel its messages; give it tokens (docs/security.md)");
    else if (p.tokens.empty() && !p.allow_ip.empty())
      out.push_back(where + " and project '" + p.project +
                    "' relies on addresses alone (allow_ip, no tokens): its messages can be "
                    "read and cancelled from any of those addresses; consider tokens "
                    "(docs/security.md)");
  }
  if (allows_everyone(cfg.admin.allow_ip) && cfg.admin.tokens.empty())
    out.push_back(where +
                  " and admin.allow_ip allows every address: anyone who reaches the "
                  "port manages every project");
  if (any_token && !cfg.http.tls.enabled())
    out.push_back(where +
                  " without http.tls: bearer tokens cross the network in clear text "
                  "unless a TLS proxy is in front (docs/security.md)");
  return out;
}

}  // namespace dmq::ingest
