// secret_test: config/secret, every form a secret or a token may take in the configuration
// (sha256:<hex>, env:VAR, file:PATH, the text itself) and what each refuses. A refusal names
// the variable or the file, never the secret.
#include "config/secret.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "temp_config.h"

namespace {

namespace fs = std::filesystem;
using dmq::config::matches;
using dmq::config::read_secret;
using dmq::config::read_token;
using dmq::config::secret_error;
using dmq::config::token;
using dmq::unit::scoped_env;
using dmq::util::sha256;
using dmq::util::to_hex;

constexpr const char* good_token = "dmq_0123456789abcdefXYZ";  // 23 characters

// temp_dir: a unique directory for the test, removed at its end.
struct temp_dir {
  temp_dir() {
    static std::atomic<int> n{0};
    path = fs::temp_directory_path() /
           ("dmq-secret-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::create_directories(path);
  }
  ~temp_dir() { fs::remove_all(path); }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name, std::ios::binary) << text;
  }
  fs::path path;
};

std::string secret_of(const std::variant<std::string, secret_error>& v) {
  if (const auto* e = std::get_if<secret_error>(&v)) return "<error: " + e->reason + ">";
  return std::get<std::string>(v);
}

std::string error_of(const std::variant<std::string, secret_error>& v) {
  const auto* e = std::get_if<secret_error>(&v);
  return e ? e->reason : "<no error>";
}

std::string error_of(const std::variant<token, secret_error>& v) {
  const auto* e = std::get_if<secret_error>(&v);
  return e ? e->reason : "<no error>";
}

bool digest_is(const std::variant<token, secret_error>& v, const std::string& secret) {
  const auto* t = std::get_if<token>(&v);
  return t && dmq::util::same_digest(t->digest, sha256(secret));
}

// ---- read_secret ----

TEST(secret, literal_text_is_the_secret) {
  EXPECT_EQ(secret_of(read_secret("plain words", "/")), "plain words");
}

TEST(secret, env_reads_the_variable) {
  scoped_env e("DMQ_SECRET_TEST_SET", "from-the-environment");
  EXPECT_EQ(secret_of(read_secret("env:DMQ_SECRET_TEST_SET", "/")), "from-the-environment");
}

TEST(secret, env_unset_or_empty_is_refused_naming_the_variable) {
  scoped_env unset("DMQ_SECRET_TEST_UNSET", nullptr);
  auto r = error_of(read_secret("env:DMQ_SECRET_TEST_UNSET", "/"));
  EXPECT_NE(r.find("DMQ_SECRET_TEST_UNSET"), std::string::npos) << r;
  EXPECT_NE(r.find("not set"), std::string::npos) << r;

  scoped_env empty("DMQ_SECRET_TEST_EMPTY", "");
  r = error_of(read_secret("env:DMQ_SECRET_TEST_EMPTY", "/"));
  EXPECT_NE(r.find("DMQ_SECRET_TEST_EMPTY"), std::string::npos) << r;
  EXPECT_NE(r.find("empty"), std::string::npos) << r;

  EXPECT_NE(error_of(read_secret("env:", "/")).find("names no variable"), std::string::npos);
}

TEST(secret, file_is_relative_to_the_config_dir) {
  temp_dir d;
  d.write("api.secret", "in-a-file");
  EXPECT_EQ(secret_of(read_secret("file:api.secret", d.path)), "in-a-file");
}

TEST(secret, file_may_be_absolute) {
  temp_dir d;
  d.write("abs.secret", "absolute-one");
  auto spec = "file:" + (d.path / "abs.secret").string();
  EXPECT_EQ(secret_of(read_secret(spec, "/nonexistent-dir")), "absolute-one");
}

TEST(secret, file_trailing_newlines_are_stripped_but_nothing_else) {
  temp_dir d;
  d.write("lf", "value\n");
  d.write("crlf", "value\r\n");
  d.write("lines", "line one\nline two\n\n");
  d.write("spaces", "  value  ");
  EXPECT_EQ(secret_of(read_secret("file:lf", d.path)), "value");
  EXPECT_EQ(secret_of(read_secret("file:crlf", d.path)), "value");
  EXPECT_EQ(secret_of(read_secret("file:lines", d.path)), "line one\nline two");
  EXPECT_EQ(secret_of(read_secret("file:spaces", d.path)), "  value  ");
}

TEST(secret, file_missing_empty_or_too_large_is_refused_naming_the_file) {
  temp_dir d;
  auto r = error_of(read_secret("file:missing.secret", d.path));
  EXPECT_NE(r.find("file:missing.secret"), std::string::npos) << r;

  d.write("empty", "");
  d.write("newline-only", "\n");
  EXPECT_NE(error_of(read_secret("file:empty", d.path)).find("is empty"), std::string::npos);
  EXPECT_NE(error_of(read_secret("file:newline-only", d.path)).find("is empty"), std::string::npos);

  d.write("huge", std::string(65 << 10, 'x'));
  EXPECT_NE(error_of(read_secret("file:huge", d.path)).find("larger than 64 KiB"),
            std::string::npos);

  fs::create_directories(d.path / "a-dir");
  EXPECT_NE(error_of(read_secret("file:a-dir", d.path)), "<no error>");
  EXPECT_NE(error_of(read_secret("file:", d.path)).find("names no file"), std::string::npos);
}

// ---- read_token ----

TEST(token, sha256_form_holds_the_digest) {
  auto hex = to_hex(dmq::util::as_view(sha256(good_token)));
  auto t = read_token("sha256:" + hex, "/");
  ASSERT_TRUE(digest_is(t, good_token)) << error_of(t);
  // The source shown in messages is abbreviated: the digest is not spelled out whole.
  const auto& source = std::get<token>(t).source;
  EXPECT_EQ(source.rfind("sha256:" + hex.substr(0, 8), 0), 0u) << source;
  EXPECT_EQ(source.find(hex), std::string::npos) << source;

  std::string upper = hex;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(digest_is(read_token("sha256:" + upper, "/"), good_token));
}

TEST(token, sha256_form_needs_exactly_64_hex_digits) {
  auto hex = to_hex(dmq::util::as_view(sha256(good_token)));
  for (const auto& bad : {hex.substr(0, 63), hex + "0", hex.substr(0, 62), hex + "00",
                          "g" + hex.substr(1), std::string(), hex.substr(0, 32)}) {
    auto r = error_of(read_token("sha256:" + bad, "/"));
    EXPECT_NE(r.find("64 hex digits"), std::string::npos) << bad << ": " << r;
  }
}

TEST(token, env_form) {
  scoped_env e("DMQ_TOKEN_TEST", good_token);
  auto t = read_token("env:DMQ_TOKEN_TEST", "/");
  EXPECT_TRUE(digest_is(t, good_token)) << error_of(t);
  EXPECT_EQ(std::get<token>(t).source, "env:DMQ_TOKEN_TEST");

  scoped_env unset("DMQ_TOKEN_TEST_UNSET", nullptr);
  EXPECT_NE(error_of(read_token("env:DMQ_TOKEN_TEST_UNSET", "/")).find("not set"),
            std::string::npos);
  scoped_env empty("DMQ_TOKEN_TEST_EMPTY", "");
  EXPECT_NE(error_of(read_token("env:DMQ_TOKEN_TEST_EMPTY", "/")).find("empty"), std::string::npos);
}

TEST(token, file_form_relative_absolute_and_newline) {
  temp_dir d;
  d.write("token", std::string(good_token) + "\n");
  auto rel = read_token("file:token", d.path);
  EXPECT_TRUE(digest_is(rel, good_token)) << error_of(rel);
  auto abs = read_token("file:" + (d.path / "token").string(), "/elsewhere");
  EXPECT_TRUE(digest_is(abs, good_token)) << error_of(abs);
  EXPECT_NE(error_of(read_token("file:absent", d.path)).find("file:absent"), std::string::npos);
  d.write("empty", "");
  EXPECT_NE(error_of(read_token("file:empty", d.path)).find("is empty"), std::string::npos);
}

TEST(token, a_literal_token_is_refused_without_being_repeated) {
  auto r = error_of(read_token(good_token, "/"));
  EXPECT_NE(r.find("must be sha256:<hex>, env:VAR or file:PATH"), std::string::npos) << r;
  EXPECT_EQ(r.find(good_token), std::string::npos) << r;
  EXPECT_NE(error_of(read_token("Bearer abc", "/")), "<no error>");
}

TEST(token, a_short_token_is_refused_without_being_repeated) {
  const char* short_one = "fifteen-chars-x";  // 15
  ASSERT_EQ(std::string(short_one).size(), 15u);
  scoped_env e("DMQ_TOKEN_SHORT", short_one);
  auto r = error_of(read_token("env:DMQ_TOKEN_SHORT", "/"));
  EXPECT_NE(r.find("at least 16 characters"), std::string::npos) << r;
  EXPECT_EQ(r.find(short_one), std::string::npos) << r;

  temp_dir d;
  d.write("short", std::string(short_one) + "\n");
  r = error_of(read_token("file:short", d.path));
  EXPECT_NE(r.find("at least 16 characters"), std::string::npos) << r;
  EXPECT_EQ(r.find(short_one), std::string::npos) << r;

  scoped_env ok("DMQ_TOKEN_SIXTEEN", "sixteen-chars-xy");  // exactly 16: enough
  EXPECT_TRUE(digest_is(read_token("env:DMQ_TOKEN_SIXTEEN", "/"), "sixteen-chars-xy"));
}

TEST(token, matches_compares_the_digest_of_the_bearer) {
  scoped_env a("DMQ_TOKEN_A", "token-of-a-0123456789");
  scoped_env b("DMQ_TOKEN_B", "token-of-b-0123456789");
  std::vector<token> tokens{std::get<token>(read_token("env:DMQ_TOKEN_A", "/")),
                            std::get<token>(read_token("env:DMQ_TOKEN_B", "/"))};
  EXPECT_TRUE(matches("token-of-a-0123456789", tokens));
  EXPECT_TRUE(matches("token-of-b-0123456789", tokens));  // not only the first
  EXPECT_FALSE(matches("token-of-c-0123456789", tokens));
  EXPECT_FALSE(matches("token-of-a-012345678", tokens));  // a prefix
  EXPECT_FALSE(matches("", tokens));
  EXPECT_FALSE(matches("token-of-a-0123456789", {}));
}

}  // namespace
