#include "config/secret.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace dmq::config {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t min_token_chars = 16;
constexpr std::size_t max_secret_bytes = 64 << 10;

std::variant<std::string, secret_error> read_file(std::string_view name, const fs::path& dir) {
  fs::path p(name);
  if (p.is_relative()) p = dir / p;
  std::error_code ec;
  auto size = fs::file_size(p, ec);
  if (ec) return secret_error{"file:" + std::string(name) + ": " + ec.message()};
  if (size > max_secret_bytes)
    return secret_error{"file:" + std::string(name) + ": larger than 64 KiB"};
  std::ifstream in(p, std::ios::binary);
  if (!in) return secret_error{"file:" + std::string(name) + ": cannot be read"};
  std::ostringstream s;
  s << in.rdbuf();
  auto text = s.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.empty()) return secret_error{"file:" + std::string(name) + ": is empty"};
  return text;
}

}  // namespace

std::variant<std::string, secret_error> read_secret(std::string_view spec, const fs::path& dir) {
  if (spec.starts_with("env:")) {
    std::string var(spec.substr(4));
    if (var.empty()) return secret_error{"env: names no variable"};
    const char* v = std::getenv(var.c_str());
    if (!v) return secret_error{"env:" + var + ": the variable is not set"};
    if (!*v) return secret_error{"env:" + var + ": the variable is empty"};
    return std::string(v);
  }
  if (spec.starts_with("file:")) {
    if (spec.size() == 5) return secret_error{"file: names no file"};
    return read_file(spec.substr(5), dir);
  }
  return std::string(spec);
}

std::variant<token, secret_error> read_token(std::string_view spec, const fs::path& dir) {
  token t;
  if (spec.starts_with("sha256:")) {
    auto bytes = util::from_hex(spec.substr(7));
    if (spec.size() != 7 + 64 || !bytes)
      return secret_error{"sha256: must be followed by 64 hex digits (see dmq token)"};
    std::copy(bytes->begin(), bytes->end(), t.digest.begin());
    t.source = "sha256:" + std::string(spec.substr(7, 8)) + "…";
    return t;
  }
  if (!spec.starts_with("env:") && !spec.starts_with("file:"))
    return secret_error{
        "must be sha256:<hex>, env:VAR or file:PATH (a token itself does not belong in the "
        "configuration; dmq token prints the sha256: line of a new one)"};
  auto v = read_secret(spec, dir);
  if (auto* e = std::get_if<secret_error>(&v)) return *e;
  const auto& secret = std::get<std::string>(v);
  if (secret.size() < min_token_chars)
    return secret_error{std::string(spec) + ": a token must be at least 16 characters"};
  t.digest = util::sha256(secret);
  t.source = std::string(spec);
  return t;
}

bool matches(std::string_view bearer, const std::vector<token>& tokens) {
  return !bearer.empty() && matches(util::sha256(bearer), tokens);
}

bool matches(const util::sha256_digest& digest, const std::vector<token>& tokens) {
  bool found = false;
  for (const auto& t : tokens) found |= util::same_digest(digest, t.digest);  // no early exit
  return found;
}

}  // namespace dmq::config
