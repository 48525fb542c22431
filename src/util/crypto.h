// crypto: the few primitives dmq's credentials need, on OpenSSL: SHA-256, HMAC-SHA256,
// base64, hex, random bytes and a comparison whose time does not depend on the data.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace dmq::util {

using sha256_digest = std::array<unsigned char, 32>;

// sha256 returns the SHA-256 digest of data.
sha256_digest sha256(std::string_view data);

// hmac_sha256 returns HMAC-SHA256(key, data).
sha256_digest hmac_sha256(std::string_view key, std::string_view data);

// same_bytes compares a and b in time that depends only on their sizes.
bool same_bytes(std::string_view a, std::string_view b);
bool same_digest(const sha256_digest& a, const sha256_digest& b);

// to_hex returns lowercase hex; from_hex parses hex of either case (nullopt if not hex).
std::string to_hex(std::string_view bytes);
std::optional<std::string> from_hex(std::string_view hex);

// base64 encodes with the standard alphabet and padding; from_base64 decodes it (padding
// optional, no whitespace), nullopt if it is not base64.
std::string base64(std::string_view bytes);
std::optional<std::string> from_base64(std::string_view text);

// random_bytes returns n bytes from OpenSSL's CSPRNG; it throws if that fails.
std::string random_bytes(std::size_t n);

inline std::string_view as_view(const sha256_digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

}  // namespace dmq::util
