// config_auth_test: the configuration keys of "who may call what" (product_list[].tokens,
// admin, metrics): they load in every form, a problem names its key, and no problem ever
// repeats a secret.
#include <gtest/gtest.h>

#include <algorithm>

#include "temp_config.h"
#include "util/crypto.h"

using namespace dmq;
using unit::scoped_env;
using unit::temp_config;

namespace {

constexpr const char* token_a = "token-of-project-a-0001";
constexpr const char* token_b = "token-of-project-b-0002";

std::string sha256_line(const std::string& token) {
  return "sha256:" + util::to_hex(util::as_view(util::sha256(token)));
}

std::string all_problems(const config::load_result& r) {
  std::string out;
  for (const auto& p : r.problems) out += p.to_string() + "\n";
  return out;
}

bool has(const std::vector<config::token>& tokens, const std::string& secret) {
  auto d = util::sha256(secret);
  return std::any_of(tokens.begin(), tokens.end(),
                     [&](const config::token& t) { return util::same_digest(t.digest, d); });
}

}  // namespace

TEST(config_auth, tokens_admin_and_metrics_load_in_every_form) {
  temp_config dir;
  scoped_env env("DMQ_CFG_TOKEN_B", token_b);
  dir.write("admin.token", "token-of-the-admin-0003\n");
  auto cfg = dir.settings(R"(product_list:
  - project: a
    tokens: [")" + sha256_line(token_a) +
                          R"("]
  - project: b
    allow_ip: [10.0.0.0/8]
    tokens: [env:DMQ_CFG_TOKEN_B, )" +
                          sha256_line("second-token-of-b-09") + R"(]
admin:
  allow_ip: [192.168.1.1]
  tokens: [file:admin.token]
metrics:
  allow_ip: [10.1.0.0/16, "::1"]
  tokens: [")" + sha256_line("token-for-metrics-0004") +
                          R"("]
)");
  ASSERT_EQ(cfg.producers.size(), 2u);
  EXPECT_EQ(cfg.producers[0].tokens.size(), 1u);
  EXPECT_TRUE(has(cfg.producers[0].tokens, token_a));
  EXPECT_TRUE(cfg.producers[0].allow_ip.empty());
  EXPECT_EQ(cfg.producers[1].tokens.size(), 2u);
  EXPECT_TRUE(has(cfg.producers[1].tokens, token_b));
  EXPECT_TRUE(has(cfg.producers[1].tokens, "second-token-of-b-09"));
  EXPECT_EQ(cfg.producers[1].allow_ip.size(), 1u);
  EXPECT_TRUE(has(cfg.admin.tokens, "token-of-the-admin-0003"));
  ASSERT_EQ(cfg.admin.allow_ip.size(), 1u);
  EXPECT_EQ(cfg.admin.allow_ip[0].text, "192.168.1.1");
  ASSERT_EQ(cfg.metrics.allow_ip.size(), 2u);
  EXPECT_EQ(cfg.metrics.allow_ip[0].text, "10.1.0.0/16");
  EXPECT_TRUE(has(cfg.metrics.tokens, "token-for-metrics-0004"));
}

TEST(config_auth, defaults_no_tokens_no_admin_metrics_on_loopback_listen_on_loopback) {
  temp_config dir;
  auto cfg = dir.settings("product_list:\n  - project: a\n    allow_ip: [127.0.0.1]\n");
  EXPECT_TRUE(cfg.producers[0].tokens.empty());
  EXPECT_TRUE(cfg.admin.allow_ip.empty());
  EXPECT_TRUE(cfg.admin.tokens.empty());
  EXPECT_TRUE(cfg.metrics.tokens.empty());
  ASSERT_EQ(cfg.metrics.allow_ip.size(), 2u);
  EXPECT_EQ(cfg.metrics.allow_ip[0].text, "127.0.0.1");
  EXPECT_EQ(cfg.metrics.allow_ip[1].text, "::1");
  EXPECT_EQ(cfg.http.listen, "127.0.0.1");
}

TEST(config_auth, metrics_tokens_alone_keep_the_loopback_default) {
  temp_config dir;
  auto cfg = dir.settings(
      "product_list:\n  - project: a\n    allow_ip: [127.0.0.1]\n"
      "metrics:\n  tokens: [\"" +
      sha256_line("token-for-metrics-0004") + "\"]\n");
  EXPECT_EQ(cfg.metrics.allow_ip.size(), 2u);
  EXPECT_EQ(cfg.metrics.tokens.size(), 1u);
}

TEST(config_auth, a_problem_names_the_key_of_the_token) {
  temp_config dir;
  scoped_env unset("DMQ_CFG_UNSET", nullptr);
  auto r = dir.load(R"(product_list:
  - project: a
    tokens: [")" + sha256_line(token_a) +
                    R"(", env:DMQ_CFG_UNSET]
admin:
  tokens: ["sha256:1234"]
metrics:
  tokens: [file:no-such-file]
)");
  EXPECT_FALSE(r.cfg);
  auto text = all_problems(r);
  EXPECT_NE(text.find("config.yaml: product_list[0].tokens[1]: env:DMQ_CFG_UNSET: the variable "
                      "is not set"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("config.yaml: admin.tokens[0]: sha256: must be followed by 64 hex digits"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("config.yaml: metrics.tokens[0]: file:no-such-file: "), std::string::npos)
      << text;
  EXPECT_EQ(r.problems.size(), 3u) << text;
}

TEST(config_auth, a_problem_never_repeats_the_secret) {
  temp_config dir;
  const std::string from_env = "envsecret-15chr";  // 15 characters: too short
  const std::string in_file = "filesecret-15ch";
  const std::string literal = "a-literal-token-in-the-yaml-0123";
  ASSERT_EQ(from_env.size(), 15u);
  ASSERT_EQ(in_file.size(), 15u);
  scoped_env env("DMQ_CFG_SHORT", from_env.c_str());
  dir.write("short.token", in_file + "\n");
  auto r = dir.load(R"(product_list:
  - project: a
    tokens: [env:DMQ_CFG_SHORT, file:short.token, )" +
                    literal + R"(]
admin:
  tokens: [)" + literal +
                    R"(]
)");
  EXPECT_FALSE(r.cfg);
  auto text = all_problems(r);
  EXPECT_EQ(r.problems.size(), 4u) << text;
  EXPECT_NE(text.find("product_list[0].tokens[0]: env:DMQ_CFG_SHORT: a token must be at least 16 "
                      "characters"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("product_list[0].tokens[1]: file:short.token: a token must be at least 16 "
                      "characters"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("product_list[0].tokens[2]: must be sha256:<hex>, env:VAR or file:PATH"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("admin.tokens[0]: must be sha256:<hex>"), std::string::npos) << text;
  EXPECT_EQ(text.find(from_env), std::string::npos) << text;
  EXPECT_EQ(text.find(in_file), std::string::npos) << text;
  EXPECT_EQ(text.find(literal), std::string::npos) << text;
}

TEST(config_auth, tokens_must_be_a_list_of_strings) {
  temp_config dir;
  auto r = dir.load("product_list:\n  - project: a\n    tokens: env:X\n");
  EXPECT_FALSE(r.cfg);
  EXPECT_NE(all_problems(r).find("product_list[0].tokens"), std::string::npos) << all_problems(r);
  auto r2 = dir.load("product_list:\n  - project: a\n    tokens: [[1]]\n");
  EXPECT_FALSE(r2.cfg);
  EXPECT_NE(all_problems(r2).find("product_list[0].tokens[0]"), std::string::npos)
      << all_problems(r2);
}
