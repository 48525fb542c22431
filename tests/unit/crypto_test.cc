// crypto_test: util/crypto against published vectors (FIPS 180-2 for SHA-256, RFC 4231 for
// HMAC-SHA256, RFC 4648 for base64) and the contracts its header states.
#include "util/crypto.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

using namespace dmq::util;

namespace {

std::string hex_of(const sha256_digest& d) {
  return to_hex(as_view(d));
}

}  // namespace

TEST(crypto, sha256_known_vectors) {
  EXPECT_EQ(hex_of(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex_of(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex_of(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // Bytes, not C strings: an embedded NUL counts.
  EXPECT_NE(hex_of(sha256(std::string("a\0b", 3))), hex_of(sha256("a")));
}

TEST(crypto, hmac_sha256_rfc4231_vectors) {
  // Test case 1: a 20-byte key of 0x0b.
  EXPECT_EQ(hex_of(hmac_sha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 2: a key shorter than the output.
  EXPECT_EQ(hex_of(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: a key longer than the block (hashed first).
  EXPECT_EQ(hex_of(hmac_sha256(std::string(131, '\xaa'),
                               "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(crypto, same_bytes_and_same_digest) {
  EXPECT_TRUE(same_bytes("", ""));
  EXPECT_TRUE(same_bytes("token-1234", "token-1234"));
  EXPECT_FALSE(same_bytes("token-1234", "token-1235"));
  EXPECT_FALSE(same_bytes("token-1234", "token-123"));  // a prefix is not the same
  EXPECT_FALSE(same_bytes("", "x"));
  EXPECT_TRUE(same_digest(sha256("a"), sha256("a")));
  EXPECT_FALSE(same_digest(sha256("a"), sha256("b")));
}

TEST(crypto, hex_round_trip_and_refusals) {
  EXPECT_EQ(to_hex(""), "");
  EXPECT_EQ(to_hex(std::string("\x00\x01\x7f\x80\xff", 5)), "00017f80ff");
  EXPECT_EQ(from_hex("00017f80ff"), std::string("\x00\x01\x7f\x80\xff", 5));
  EXPECT_EQ(from_hex("ABCDEF"), std::string("\xab\xcd\xef"));  // either case
  EXPECT_EQ(from_hex("aBcD"), std::string("\xab\xcd"));
  EXPECT_EQ(from_hex(""), std::string());
  EXPECT_EQ(from_hex("abc"), std::nullopt);  // odd length
  EXPECT_EQ(from_hex("zz"), std::nullopt);
  EXPECT_EQ(from_hex("0x"), std::nullopt);
  EXPECT_EQ(from_hex("a "), std::nullopt);
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(from_hex(to_hex(all)), all);
}

TEST(crypto, base64_rfc4648_vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64(plain), encoded) << plain;
    EXPECT_EQ(from_base64(encoded), plain) << encoded;
  }
}

TEST(crypto, base64_padding_is_optional_when_decoding) {
  EXPECT_EQ(from_base64("Zg"), "f");
  EXPECT_EQ(from_base64("Zm8"), "fo");
  EXPECT_EQ(from_base64("Zm9vYg"), "foob");
}

TEST(crypto, base64_round_trips_every_byte_and_length) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= all.size(); n += 1 + n / 8) {
    auto part = all.substr(all.size() - n);
    auto enc = base64(part);
    EXPECT_EQ(enc.size() % 4, 0u);
    EXPECT_EQ(
        enc.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
        std::string::npos);
    EXPECT_EQ(from_base64(enc), part) << n;
  }
  auto r = random_bytes(33);
  EXPECT_EQ(from_base64(base64(r)), r);
}

TEST(crypto, base64_refuses_what_is_not_base64) {
  EXPECT_EQ(from_base64("Zm9v YmFy"), std::nullopt);   // whitespace
  EXPECT_EQ(from_base64("Zm9vYmFy\n"), std::nullopt);  // a newline
  EXPECT_EQ(from_base64("Zm9v-_"), std::nullopt);      // the URL-safe alphabet
  EXPECT_EQ(from_base64("Zm9v!"), std::nullopt);
  EXPECT_EQ(from_base64("Z"), std::nullopt);         // 6 bits: not a byte
  EXPECT_EQ(from_base64("Zm9vY"), std::nullopt);     // a quantum of one character
  EXPECT_EQ(from_base64("Zg==Zg=="), std::nullopt);  // padding in the middle
  // Padding that does not complete a quantum of 4, or more than 2 of it.
  EXPECT_EQ(from_base64("Zm9v="), std::nullopt);
  EXPECT_EQ(from_base64("Zm9v===="), std::nullopt);
  EXPECT_EQ(from_base64("Zg="), std::nullopt);
  EXPECT_EQ(from_base64("Zg==="), std::nullopt);
  EXPECT_EQ(from_base64("="), std::nullopt);
}

TEST(crypto, random_bytes_has_the_size_asked_and_differs) {
  EXPECT_EQ(random_bytes(0).size(), 0u);
  EXPECT_EQ(random_bytes(32).size(), 32u);
  std::set<std::string> seen;
  for (int i = 0; i < 16; ++i) seen.insert(random_bytes(16));
  EXPECT_EQ(seen.size(), 16u);
}
