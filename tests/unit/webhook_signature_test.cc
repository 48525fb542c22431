// webhook_signature: the Standard Webhooks signature, against the example vector of the
// standard's reference libraries (standard-webhooks/standard-webhooks,
// libraries/javascript/src/webhook.test.ts, "sign function works").
#include "dispatch/webhook_signature.h"

#include <gtest/gtest.h>

#include "util/crypto.h"

namespace dmq::dispatch {
namespace {

// The spec's example: secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw (the key is the base64
// after whsec_, decoded), id msg_p5jXN8AQM9LWM0D4loKWxJek, timestamp 1614265330.
const std::string spec_key = *util::from_base64("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
constexpr std::string_view spec_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t spec_ts = 1614265330;
constexpr std::string_view spec_body = R"({"test": 2432232314})";
constexpr std::string_view spec_signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

TEST(webhook_signature, spec_example_vector) {
  EXPECT_EQ(webhook_signature(spec_id, spec_ts, spec_body, {spec_key}), spec_signature);
}

TEST(webhook_signature, one_entry_per_secret_in_order_separated_by_a_space) {
  std::string other(32, '\x07');
  auto both = webhook_signature(spec_id, spec_ts, spec_body, {other, spec_key});
  auto first = webhook_signature(spec_id, spec_ts, spec_body, {other});
  EXPECT_EQ(both, first + " " + std::string(spec_signature));
  EXPECT_NE(first, spec_signature);
}

TEST(webhook_signature, every_part_of_the_signed_text_counts) {
  auto sig = [](std::string_view id, std::int64_t ts, std::string_view body) {
    return webhook_signature(id, ts, body, {spec_key});
  };
  EXPECT_NE(sig("msg_p5jXN8AQM9LWM0D4loKWxJel", spec_ts, spec_body), spec_signature);
  EXPECT_NE(sig(spec_id, spec_ts + 1, spec_body), spec_signature);
  EXPECT_NE(sig(spec_id, spec_ts, R"({"test": 2432232315})"), spec_signature);
  // The body's bytes as they are, binary and empty ones too.
  EXPECT_NE(sig(spec_id, spec_ts, std::string_view("a\0b", 3)), sig(spec_id, spec_ts, "a"));
  EXPECT_EQ(sig(spec_id, spec_ts, "").substr(0, 3), "v1,");
}

TEST(webhook_signature, no_secrets_no_signature) {
  EXPECT_EQ(webhook_signature(spec_id, spec_ts, spec_body, {}), "");
}

}  // namespace
}  // namespace dmq::dispatch
