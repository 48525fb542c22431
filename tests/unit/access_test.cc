// access_test: ingest/access, who may call what (docs/security.md, "Who may call what"):
// the bearer token a request carries, the rules of a project (tokens, allow_ip, both,
// neither), admin and /metrics credentials, and the warnings dmq logs at start.
#include "ingest/access.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>

#include "temp_config.h"

using namespace dmq;
using unit::scoped_env;
using unit::temp_config;

namespace {

constexpr const char* token_a = "token-of-project-a-0001";
constexpr const char* token_b = "token-of-project-b-0002";
constexpr const char* token_admin = "token-of-the-admin-0003";
constexpr const char* token_metrics = "token-for-metrics-0004";

http::request from(std::string_view peer, std::string authorization = "",
                   std::string forwarded_for = "") {
  http::request r;
  r.method = "GET";
  r.target = "/metrics";
  r.peer = *util::parse_ip(peer);
  r.peer_text = peer;
  r.authorization = std::move(authorization);
  r.forwarded_for = std::move(forwarded_for);
  return r;
}

ingest::credential who(std::string_view address, std::optional<std::string> token = {}) {
  ingest::credential c{{*util::parse_ip(address), std::string(address)}, std::nullopt};
  if (token) c.token = util::sha256(*token);
  return c;
}

config::token token_of(const std::string& secret) {
  config::token t;
  t.digest = util::sha256(secret);
  t.source = "test";
  return t;
}

config::producer project(std::vector<std::string> allow, std::vector<std::string> tokens) {
  config::producer p;
  p.project = "p";
  for (const auto& a : allow) p.allow_ip.push_back(*util::ip_range::parse(a));
  for (const auto& t : tokens) p.tokens.push_back(token_of(t));
  return p;
}

// env: the tokens of every test's configuration, read as env: entries.
struct access_env : ::testing::Test {
  scoped_env a{"DMQ_ACCESS_TOKEN_A", token_a};
  scoped_env b{"DMQ_ACCESS_TOKEN_B", token_b};
  scoped_env admin{"DMQ_ACCESS_TOKEN_ADMIN", token_admin};
  scoped_env metrics{"DMQ_ACCESS_TOKEN_METRICS", token_metrics};
  temp_config dir;
};

const std::string projects = R"(product_list:
  - project: a
    tokens: [env:DMQ_ACCESS_TOKEN_A]
  - project: b
    tokens: [env:DMQ_ACCESS_TOKEN_B]
    allow_ip: [10.0.0.0/8]
  - project: c
    allow_ip: [127.0.0.1]
)";

}  // namespace

// ---- the bearer token ----

TEST(bearer_token, reads_the_token_of_a_bearer_authorization) {
  EXPECT_EQ(ingest::bearer_token("Bearer abc.def-123"), "abc.def-123");
}

TEST(bearer_token, the_scheme_is_case_insensitive) {
  EXPECT_EQ(ingest::bearer_token("bearer tok"), "tok");
  EXPECT_EQ(ingest::bearer_token("BEARER tok"), "tok");
  EXPECT_EQ(ingest::bearer_token("BeArEr tok"), "tok");
}

TEST(bearer_token, extra_spaces_around_the_token_are_ignored) {
  EXPECT_EQ(ingest::bearer_token("Bearer    tok"), "tok");
  EXPECT_EQ(ingest::bearer_token("Bearer tok   "), "tok");
}

TEST(bearer_token, other_schemes_and_malformed_values_give_no_token) {
  EXPECT_EQ(ingest::bearer_token(""), "");
  EXPECT_EQ(ingest::bearer_token("Bearer"), "");
  EXPECT_EQ(ingest::bearer_token("Bearer "), "");
  EXPECT_EQ(ingest::bearer_token("Basic dXNlcjpwYXNz"), "");
  EXPECT_EQ(ingest::bearer_token("Token tok"), "");
  EXPECT_EQ(ingest::bearer_token("Bearertok"), "");
  EXPECT_EQ(ingest::bearer_token("tok"), "");
  EXPECT_EQ(ingest::bearer_token("Bearer two words"), "");
}

TEST(bearer_token, two_authorization_lines_joined_give_no_token) {
  // The reader joins a repeated field's lines with ", ": neither token is believed.
  EXPECT_EQ(ingest::bearer_token("Bearer tok-one, Bearer tok-two"), "");
  EXPECT_EQ(ingest::bearer_token("Bearer tok-one,tok-two"), "");
}

TEST(identify, keeps_the_digest_of_the_bearer_token_and_the_address) {
  config::settings cfg;
  auto c = ingest::identify(from("127.0.0.7", "Bearer " + std::string(token_a)), cfg);
  ASSERT_TRUE(std::holds_alternative<ingest::credential>(c));
  const auto& cred = std::get<ingest::credential>(c);
  EXPECT_EQ(cred.from.text, "127.0.0.7");
  ASSERT_TRUE(cred.token);
  EXPECT_TRUE(util::same_digest(*cred.token, util::sha256(token_a)));

  auto none = ingest::identify(from("127.0.0.7", "Basic abc"), cfg);
  EXPECT_FALSE(std::get<ingest::credential>(none).token);
  auto empty = ingest::identify(from("127.0.0.7"), cfg);
  EXPECT_FALSE(std::get<ingest::credential>(empty).token);
}

TEST(identify, the_address_comes_through_trusted_proxies_only) {
  config::settings cfg;
  cfg.http.trusted_proxies = {*util::ip_range::parse("127.0.0.1")};
  auto c = ingest::identify(from("127.0.0.1", "", "10.1.2.3, 127.0.0.5"), cfg);
  EXPECT_EQ(std::get<ingest::credential>(c).from.text, "127.0.0.5");  // the nearest untrusted
  auto bad = ingest::identify(from("127.0.0.1", "", "not-an-ip"), cfg);
  EXPECT_TRUE(std::holds_alternative<std::string>(bad));
  auto untrusted = ingest::identify(from("127.0.0.9", "", "10.1.2.3"), cfg);
  EXPECT_EQ(std::get<ingest::credential>(untrusted).from.text, "127.0.0.9");
}

// ---- a project's rules ----

TEST(may_act_for, tokens_only_any_address_with_one_of_its_tokens) {
  auto p = project({}, {token_a, "second-token-of-a-0009"});
  EXPECT_TRUE(ingest::may_act_for(p, who("127.0.0.1", token_a)));
  EXPECT_TRUE(ingest::may_act_for(p, who("203.0.113.9", token_a)));
  EXPECT_TRUE(ingest::may_act_for(p, who("::1", "second-token-of-a-0009")));
  EXPECT_FALSE(ingest::may_act_for(p, who("127.0.0.1")));
  EXPECT_FALSE(ingest::may_act_for(p, who("127.0.0.1", token_b)));
  EXPECT_FALSE(ingest::may_act_for(p, who("127.0.0.1", "")));
}

TEST(may_act_for, allow_ip_only_is_the_seed_rule) {
  auto p = project({"127.0.0.1", "10.0.0.0/8"}, {});
  EXPECT_TRUE(ingest::may_act_for(p, who("127.0.0.1")));
  EXPECT_TRUE(ingest::may_act_for(p, who("10.200.1.1")));
  EXPECT_TRUE(ingest::may_act_for(p, who("10.200.1.1", "any-token-at-all-0000")));
  EXPECT_FALSE(ingest::may_act_for(p, who("127.0.0.2")));
  EXPECT_FALSE(ingest::may_act_for(p, who("11.0.0.1", token_a)));
}

TEST(may_act_for, both_needs_the_token_and_the_address) {
  auto p = project({"127.0.0.5"}, {token_a});
  EXPECT_TRUE(ingest::may_act_for(p, who("127.0.0.5", token_a)));
  EXPECT_FALSE(ingest::may_act_for(p, who("127.0.0.6", token_a)));  // right token, wrong address
  EXPECT_FALSE(ingest::may_act_for(p, who("127.0.0.5")));           // right address, no token
  EXPECT_FALSE(ingest::may_act_for(p, who("127.0.0.5", token_b)));  // right address, wrong token
}

TEST(may_act_for, neither_is_nobody) {
  auto p = project({}, {});
  EXPECT_FALSE(ingest::may_act_for(p, who("127.0.0.1")));
  EXPECT_FALSE(ingest::may_act_for(p, who("127.0.0.1", token_a)));
  EXPECT_FALSE(ingest::may_act_for(p, who("::1")));
}

TEST(why_not, names_the_missing_credential) {
  auto tokens = project({}, {token_a});
  tokens.project = "a";
  EXPECT_EQ(ingest::why_not(tokens, who("127.0.0.1")),
            "project: 'a' needs a bearer token (Authorization: Bearer TOKEN)");
  EXPECT_EQ(ingest::why_not(tokens, who("127.0.0.1", token_b)),
            "project: 'a' does not accept this bearer token");
  auto both = project({"127.0.0.5"}, {token_a});
  both.project = "b";
  EXPECT_EQ(ingest::why_not(both, who("127.0.0.6", token_a)),
            "project: 'b' does not allow callers from 127.0.0.6");
  auto ips = project({"127.0.0.1"}, {});
  ips.project = "c";
  EXPECT_EQ(ingest::why_not(ips, who("127.0.0.2")),
            "project: 'c' does not allow callers from 127.0.0.2");
}

// ---- management: a project's own callers, or admin ----

TEST_F(access_env, managing_follows_the_projects_rules) {
  auto cfg = dir.settings(projects);
  EXPECT_TRUE(ingest::may_manage(cfg, "a", who("127.0.0.1", token_a)));
  EXPECT_FALSE(ingest::may_manage(cfg, "a", who("127.0.0.1", token_b)));
  EXPECT_FALSE(ingest::may_manage(cfg, "a", who("127.0.0.1")));
  EXPECT_TRUE(ingest::may_manage(cfg, "b", who("10.0.0.1", token_b)));
  EXPECT_FALSE(ingest::may_manage(cfg, "b", who("127.0.0.1", token_b)));  // not from there
  EXPECT_TRUE(ingest::may_manage(cfg, "c", who("127.0.0.1")));
  EXPECT_FALSE(ingest::may_manage(cfg, "c", who("127.0.0.2", token_a)));
  EXPECT_FALSE(ingest::may_manage(cfg, "nope", who("127.0.0.1", token_a)));

  using list = std::vector<std::string>;
  EXPECT_EQ(ingest::managed_projects(cfg, who("127.0.0.1", token_a)), (list{"a", "c"}));
  EXPECT_EQ(ingest::managed_projects(cfg, who("10.0.0.1", token_b)), (list{"b"}));
  EXPECT_EQ(ingest::managed_projects(cfg, who("127.0.0.2")), list{});
  EXPECT_FALSE(ingest::is_admin(cfg, who("127.0.0.1", token_a)));
}

TEST_F(access_env, no_address_and_no_token_is_admin_unless_configured) {
  auto cfg = dir.settings(projects);
  EXPECT_FALSE(ingest::is_admin(cfg, who("127.0.0.1")));
  EXPECT_FALSE(ingest::is_admin(cfg, who("::1")));
  EXPECT_FALSE(ingest::is_admin(cfg, who("127.0.0.1", token_admin)));
}

TEST_F(access_env, admin_by_address_manages_every_project) {
  auto cfg = dir.settings(projects + "admin:\n  allow_ip: [192.168.1.0/24]\n");
  auto admin = who("192.168.1.7");
  EXPECT_TRUE(ingest::is_admin(cfg, admin));
  for (const auto* p : {"a", "b", "c"}) EXPECT_TRUE(ingest::may_manage(cfg, p, admin)) << p;
  EXPECT_EQ(ingest::managed_projects(cfg, admin), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_FALSE(ingest::is_admin(cfg, who("192.168.2.7")));
}

TEST_F(access_env, admin_by_token_manages_every_project_from_anywhere) {
  auto cfg = dir.settings(projects + "admin:\n  tokens: [env:DMQ_ACCESS_TOKEN_ADMIN]\n");
  auto admin = who("203.0.113.1", token_admin);
  EXPECT_TRUE(ingest::is_admin(cfg, admin));
  for (const auto* p : {"a", "b", "c"}) EXPECT_TRUE(ingest::may_manage(cfg, p, admin)) << p;
  EXPECT_FALSE(ingest::is_admin(cfg, who("203.0.113.1", token_a)));
  EXPECT_FALSE(ingest::is_admin(cfg, who("127.0.0.1")));
}

// ---- /metrics ----

TEST_F(access_env, metrics_default_to_loopback) {
  auto cfg = dir.settings(projects);
  EXPECT_TRUE(ingest::may_read_metrics(cfg, who("127.0.0.1")));
  EXPECT_TRUE(ingest::may_read_metrics(cfg, who("::1")));
  EXPECT_FALSE(ingest::may_read_metrics(cfg, who("127.0.0.2")));  // 127.0.0.1 and ::1 only
  EXPECT_FALSE(ingest::may_read_metrics(cfg, who("10.0.0.1", token_a)));
}

TEST_F(access_env, a_configured_metrics_list_replaces_the_default) {
  auto cfg = dir.settings(projects + "metrics:\n  allow_ip: [10.9.0.0/16]\n");
  EXPECT_TRUE(ingest::may_read_metrics(cfg, who("10.9.3.4")));
  EXPECT_FALSE(ingest::may_read_metrics(cfg, who("127.0.0.1")));
  EXPECT_FALSE(ingest::may_read_metrics(cfg, who("::1")));
}

TEST_F(access_env, metrics_by_token_or_admin) {
  auto cfg =
      dir.settings(projects +
                   "metrics:\n  allow_ip: []\n  tokens: [env:DMQ_ACCESS_TOKEN_METRICS]\n"
                   "admin:\n  allow_ip: [192.168.1.1]\n  tokens: [env:DMQ_ACCESS_TOKEN_ADMIN]\n");
  EXPECT_TRUE(ingest::may_read_metrics(cfg, who("10.0.0.1", token_metrics)));
  EXPECT_TRUE(ingest::may_read_metrics(cfg, who("10.0.0.1", token_admin)));
  EXPECT_TRUE(ingest::may_read_metrics(cfg, who("192.168.1.1")));
  EXPECT_FALSE(ingest::may_read_metrics(cfg, who("127.0.0.1")));
  EXPECT_FALSE(ingest::may_read_metrics(cfg, who("10.0.0.1", token_a)));
  // A metrics token is not an admin credential.
  EXPECT_FALSE(ingest::is_admin(cfg, who("10.0.0.1", token_metrics)));
  EXPECT_FALSE(ingest::may_manage(cfg, "a", who("10.0.0.1", token_metrics)));
}

TEST_F(access_env, metrics_refusal_is_403_code_103) {
  auto cfg = dir.settings(projects);
  EXPECT_FALSE(ingest::metrics_refusal(from("127.0.0.1"), cfg));
  auto r = ingest::metrics_refusal(from("127.0.0.3", "Bearer " + std::string(token_a)), cfg);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  auto body = boost::json::parse(r->body).as_object();
  EXPECT_EQ(body.at("code").to_number<int>(), 103) << r->body;
}

// ---- start warnings ----

namespace {

std::vector<std::string> warnings(temp_config& dir, const std::string& yaml) {
  return ingest::exposure_warnings(dir.settings(yaml));
}

std::string joined(const std::vector<std::string>& w) {
  std::string out;
  for (const auto& s : w) out += "\n  " + s;
  return out;
}

int count_with(const std::vector<std::string>& w, const std::string& part) {
  return static_cast<int>(std::count_if(
      w.begin(), w.end(), [&](const std::string& s) { return s.find(part) != std::string::npos; }));
}

}  // namespace

TEST_F(access_env, no_warning_on_loopback) {
  EXPECT_TRUE(warnings(dir, "http:\n  listen: 127.0.0.1\n" + projects).empty());
  EXPECT_TRUE(warnings(dir, "http:\n  listen: ::1\n" + projects).empty());
  EXPECT_TRUE(warnings(dir, "http:\n  listen: 127.0.0.2\n" + projects +
                                "  - project: open\n    allow_ip: [0.0.0.0/0]\n")
                  .empty());
  EXPECT_TRUE(warnings(dir, projects).empty()) << "http.listen defaults to 127.0.0.1";
}

TEST_F(access_env, one_warning_per_address_only_project_beyond_loopback) {
  auto w = warnings(dir, "http:\n  listen: 0.0.0.0\n" + projects +
                             "  - project: d\n    allow_ip: [10.0.0.0/8]\n");
  EXPECT_EQ(count_with(w, "relies on addresses alone"), 2) << joined(w);
  EXPECT_EQ(count_with(w, "project 'c'"), 1) << joined(w);
  EXPECT_EQ(count_with(w, "project 'd'"), 1) << joined(w);
  EXPECT_EQ(count_with(w, "project 'a'"), 0) << joined(w);  // tokens
  EXPECT_EQ(count_with(w, "project 'b'"), 0) << joined(w);  // tokens and allow_ip
  EXPECT_EQ(count_with(w, "listens on 0.0.0.0"), static_cast<int>(w.size())) << joined(w);
}

TEST_F(access_env, a_project_allowing_every_address_is_warned_about) {
  auto w = warnings(dir, "http:\n  listen: \"::\"\n" + projects +
                             "  - project: open4\n    allow_ip: [0.0.0.0/0]\n"
                             "  - project: open6\n    allow_ip: [\"::/0\"]\n");
  EXPECT_EQ(count_with(w, "project 'open4' allows every address"), 1) << joined(w);
  EXPECT_EQ(count_with(w, "project 'open6' allows every address"), 1) << joined(w);
  EXPECT_EQ(count_with(w, "relies on addresses alone"), 1) << joined(w);  // c only
}

TEST_F(access_env, a_narrow_ipv6_range_is_not_every_address) {
  auto w = warnings(dir, "http:\n  listen: \"::\"\n" + projects +
                             "  - project: v6\n    allow_ip: [\"2001:db8::/96\"]\n");
  EXPECT_EQ(count_with(w, "allows every address"), 0) << joined(w);
  EXPECT_EQ(count_with(w, "project 'v6' relies on addresses alone"), 1) << joined(w);
}

TEST_F(access_env, admin_allowing_every_address_is_warned_about) {
  auto w =
      warnings(dir, "http:\n  listen: 0.0.0.0\n" + projects + "admin:\n  allow_ip: [0.0.0.0/0]\n");
  EXPECT_EQ(count_with(w, "admin.allow_ip allows every address"), 1) << joined(w);
}

TEST_F(access_env, tokens_without_tls_beyond_loopback_are_warned_about) {
  auto w = warnings(dir, "http:\n  listen: 0.0.0.0\n" + projects);
  EXPECT_EQ(count_with(w, "without http.tls"), 1) << joined(w);
  // No token anywhere: nothing crosses in clear text to warn about.
  auto none = warnings(dir,
                       "http:\n  listen: 0.0.0.0\nproduct_list:\n  - project: a\n"
                       "    allow_ip: [10.0.0.1]\n");
  EXPECT_EQ(count_with(none, "without http.tls"), 0) << joined(none);
  EXPECT_EQ(none.size(), 1u) << joined(none);
  // Admin tokens alone count too.
  auto admin = warnings(dir,
                        "http:\n  listen: 0.0.0.0\nproduct_list:\n  - project: a\n"
                        "    allow_ip: [10.0.0.1]\nadmin:\n  tokens: "
                        "[env:DMQ_ACCESS_TOKEN_ADMIN]\n");
  EXPECT_EQ(count_with(admin, "without http.tls"), 1) << joined(admin);
}
