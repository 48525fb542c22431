// secret: where a secret named in the configuration comes from, so that secrets can stay
// out of the YAML: "env:VAR" (the environment variable VAR), "file:PATH" (the file's
// content without its trailing newline; PATH relative to CONFIG_DIR), or the text itself.
// Producer tokens (token) may also be given as "sha256:<64 hex>", the digest of the token,
// so that the configuration holds no secret at all.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/crypto.h"

namespace dmq::config {

// secret_error: why a secret could not be read (it names the variable or file, never the value).
struct secret_error {
  std::string reason;
};

// read_secret resolves spec: env:VAR, file:PATH, else spec itself (literal).
std::variant<std::string, secret_error> read_secret(std::string_view spec,
                                                    const std::filesystem::path& dir);

// token: a bearer token as the configuration names it; only its digest is kept.
struct token {
  util::sha256_digest digest{};
  std::string source;  // "sha256:…" (abbreviated), "env:VAR", "file:PATH": for messages
};

// read_token resolves sha256:<hex>, env:VAR or file:PATH; a literal token is refused
// (it would put the secret in the YAML), as is one shorter than 16 characters.
std::variant<token, secret_error> read_token(std::string_view spec,
                                             const std::filesystem::path& dir);

// matches says whether bearer is one of tokens (each compared in constant time).
bool matches(std::string_view bearer, const std::vector<token>& tokens);
// matches says whether digest is that of one of tokens: every one is compared, none skipped.
bool matches(const util::sha256_digest& digest, const std::vector<token>& tokens);

}  // namespace dmq::config
