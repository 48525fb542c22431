// Signed deliveries (Standard Webhooks, docs/security.md): the real dmq binary on a real
// redis-server delivers to tests/node/verify_consumer.js, which checks every delivery with
// the official `standardwebhooks` npm package (not with dmq's code) and logs what it saw.
#include <gtest/gtest.h>

#include "delivery_fixture.h"
#include "support/node_verifier.h"
#include "util/crypto.h"

namespace dmq::e2e {
namespace {

std::string new_secret() {
  return "whsec_" + util::base64(util::random_bytes(32));
}

std::string describe(const std::vector<test::node_delivery>& ds) {
  std::string s;
  for (const auto& d : ds) {
    s += "  " + d.route + " id=" + d.webhook_id.value_or("<none>") +
         " ts=" + d.webhook_timestamp.value_or("<none>") + " attempt=" + d.attempt +
         " verified=" + (d.verified ? "yes" : "no") + " status=" + std::to_string(d.status);
    for (const auto& r : d.reasons) s += " [" + r + "]";
    s += "\n";
  }
  return s;
}

class signed_delivery : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = test::node_verifier::why_unavailable(); !why.empty())
      GTEST_SKIP() << "signed delivery tests need Node.js: " << why;
    // One consumer per case, each on its own path of the verifier; every message goes to all.
    verifier = std::make_unique<test::node_verifier>(std::map<std::string, test::node_route>{
        {"/one", {{key}, false, 0}},
        {"/retry", {{key}, false, 1}},
        {"/rotation", {{old_key}, false, 0}},      // a verifier that knows only the old secret...
        {"/rotation-new", {{new_key}, false, 0}},  // ...and one that knows only the new one
        {"/tampered", {{key}, true, 0}},
        {"/wrong", {{other_key}, false, 0}},
        {"/unsigned", {{key}, false, 0}},
    });
    auto signed_by = [](std::vector<std::string> keys) {
      std::string list = "[";
      for (const auto& k : keys) list += (list.size() > 1 ? ", \"" : "\"") + k + "\"";
      return std::map<std::string, std::string>{{"signing_secrets", list + "]"}};
    };
    auto c = [&](std::string name, std::string path, int retries, int interval,
                 std::map<std::string, std::string> more) {
      return consumer_conf{std::move(name), std::move(path), "", default_timeout_ms, retries,
                           interval,        std::move(more)};
    };
    dir = write_delivery_config(
        redis.port(), port, verifier->port(),
        {c("one", "/one/orders", 0, 200, signed_by({key})),
         // A retry a little over a second later: its timestamp (seconds) must be a new one.
         c("retried", "/retry/orders?x=1", 2, 1100, signed_by({key})),
         c("rotating", "/rotation/orders", 0, 200, signed_by({old_key, new_key})),
         c("rotating2", "/rotation-new/orders", 0, 200, signed_by({old_key, new_key})),
         c("tampered", "/tampered/orders", 0, 200, signed_by({key})),
         c("wrong", "/wrong/orders", 0, 200, signed_by({key})),
         c("unsigned", "/unsigned/orders", 0, 200, {})});
    dmq = start_dmq(dir, port, "run");
  }

  void TearDown() override {
    if (dmq) {
      EXPECT_TRUE(dmq->running()) << dmq->log();
      auto log = dmq->log();
      for (const auto& k : {key, old_key, new_key}) {
        EXPECT_EQ(log.find(k.substr(6)), std::string::npos) << "a secret is in dmq's log";
      }
    }
    dmq.reset();
    verifier.reset();
    if (!dir.empty()) test::remove_config_dir(dir);
  }

  // post saves a message of sds:create:order and returns its id.
  std::uint64_t post(const std::string& params) {
    json::object m{
        {"project", "sds"}, {"cmd", "sds:create:order"}, {"bucket", "b"}, {"params", params}};
    auto r = test::call(port, "POST", "/api/message/single", text(m));
    EXPECT_EQ(r.code(), 0) << r.body;
    return r.code() == 0 ? id_of(r) : 0;
  }

  // wait_for waits (bounded) until route has n deliveries of id; returns them.
  std::vector<test::node_delivery> wait_for(const std::string& route, std::uint64_t id,
                                            std::size_t n, std::chrono::milliseconds bound = 10s) {
    std::vector<test::node_delivery> got;
    test::wait_until(
        [&] {
          got.clear();
          for (auto& d : verifier->of(route))
            if (d.message_id == std::to_string(id)) got.push_back(std::move(d));
          return got.size() >= n;
        },
        bound);
    return got;
  }

  std::string status(std::uint64_t id, const std::string& consumer) const {
    auto r = test::call(
        port, "GET", "/api/message/status?msg_id=" + std::to_string(id) + "&consumer=" + consumer);
    return r.code() == 0 && r.data().is_string() ? std::string(r.data().as_string()) : r.body;
  }
  bool wait_status(std::uint64_t id, const std::string& consumer, const std::string& want) const {
    return test::wait_until([&] { return status(id, consumer) == want; }, 10s);
  }

  const std::string key = new_secret(), old_key = new_secret(), new_key = new_secret(),
                    other_key = new_secret();
  test::redis_server redis;
  int port = test::free_port();
  std::string dir;
  std::unique_ptr<test::node_verifier> verifier;
  std::unique_ptr<test::dmq_process> dmq;
};

TEST_F(signed_delivery, a_delivery_verifies_with_the_standardwebhooks_package) {
  const std::string params = R"({"order_id":34256,"note":"caf\u00e9 \u2603"})";
  auto id = post(params);
  auto got = wait_for("/one", id, 1);
  ASSERT_EQ(got.size(), 1u) << describe(verifier->deliveries()) << verifier->log() << dmq->log();
  const auto& d = got[0];
  EXPECT_TRUE(d.verified) << describe(got);
  EXPECT_EQ(d.status, 200);
  EXPECT_EQ(d.webhook_id, std::to_string(id));  // the message id, as X-Dmq-Message-Id
  EXPECT_EQ(d.body, params);                    // the signed body is exactly the params
  ASSERT_TRUE(d.webhook_timestamp);
  EXPECT_LE(std::abs(std::stoll(*d.webhook_timestamp) - d.received_s), 5) << describe(got);
  ASSERT_TRUE(d.webhook_signature);
  EXPECT_TRUE(d.webhook_signature->starts_with("v1,")) << *d.webhook_signature;
  EXPECT_EQ(d.webhook_signature->find(' '), std::string::npos) << "one secret, one signature";
  EXPECT_TRUE(wait_status(id, "one", "done"));
}

TEST_F(signed_delivery, a_retry_has_the_same_id_and_a_new_timestamp_and_verifies) {
  auto id = post(R"({"order_id":2})");
  auto got = wait_for("/retry", id, 2);
  ASSERT_EQ(got.size(), 2u) << describe(verifier->deliveries()) << dmq->log();
  EXPECT_EQ(got[0].attempt, "1");
  EXPECT_EQ(got[1].attempt, "2");
  for (const auto& d : got) {
    EXPECT_TRUE(d.verified) << describe(got);
    EXPECT_EQ(d.webhook_id, std::to_string(id)) << describe(got);
  }
  EXPECT_EQ(got[0].status, 500);  // the verifier's scripted failure: dmq retries
  EXPECT_EQ(got[1].status, 200);
  ASSERT_TRUE(got[0].webhook_timestamp && got[1].webhook_timestamp);
  EXPECT_GT(std::stoll(*got[1].webhook_timestamp), std::stoll(*got[0].webhook_timestamp))
      << describe(got);
  EXPECT_NE(got[0].webhook_signature, got[1].webhook_signature);
  EXPECT_TRUE(wait_status(id, "retried", "done"));
}

TEST_F(signed_delivery, two_secrets_verifiers_knowing_only_the_old_or_only_the_new_both_accept) {
  auto id = post(R"({"order_id":3})");
  auto old_only = wait_for("/rotation", id, 1);
  auto new_only = wait_for("/rotation-new", id, 1);
  ASSERT_EQ(old_only.size(), 1u) << describe(verifier->deliveries());
  ASSERT_EQ(new_only.size(), 1u) << describe(verifier->deliveries());
  for (const auto* d : {&old_only[0], &new_only[0]}) {
    EXPECT_TRUE(d->verified) << describe(std::vector<test::node_delivery>{*d});
    ASSERT_TRUE(d->webhook_signature);
    // One entry per secret, space-separated, in the configured order.
    auto sig = *d->webhook_signature;
    auto space = sig.find(' ');
    ASSERT_NE(space, std::string::npos) << sig;
    EXPECT_TRUE(sig.starts_with("v1,")) << sig;
    EXPECT_EQ(sig.substr(space + 1, 3), "v1,") << sig;
    EXPECT_EQ(sig.find(' ', space + 1), std::string::npos) << sig;
  }
  EXPECT_TRUE(wait_status(id, "rotating", "done"));
  EXPECT_TRUE(wait_status(id, "rotating2", "done"));
}

// The test can fail: a body changed on the way, or a secret the consumer does not share, is
// refused by the verifier, and the delivery fails (no retries configured: failure).
TEST_F(signed_delivery, a_tampered_body_or_a_wrong_secret_is_refused) {
  auto id = post(R"({"order_id":4})");
  auto tampered = wait_for("/tampered", id, 1);
  auto wrong = wait_for("/wrong", id, 1);
  auto good = wait_for("/one", id, 1);
  ASSERT_EQ(tampered.size(), 1u) << describe(verifier->deliveries());
  ASSERT_EQ(wrong.size(), 1u) << describe(verifier->deliveries());
  ASSERT_EQ(good.size(), 1u) << describe(verifier->deliveries());
  EXPECT_TRUE(good[0].verified) << describe(good);  // the same message, untouched: accepted
  EXPECT_FALSE(tampered[0].verified) << describe(tampered);
  EXPECT_FALSE(wrong[0].verified) << describe(wrong);
  EXPECT_NE(tampered[0].reasons.at(0).find("No matching signature"), std::string::npos)
      << describe(tampered);
  EXPECT_NE(wrong[0].reasons.at(0).find("No matching signature"), std::string::npos)
      << describe(wrong);
  EXPECT_EQ(tampered[0].status, 401);
  EXPECT_TRUE(wait_status(id, "tampered", "failure"));
  EXPECT_TRUE(wait_status(id, "wrong", "failure"));
}

TEST_F(signed_delivery, a_consumer_without_secrets_gets_no_signature_headers) {
  auto id = post(R"({"order_id":5})");
  auto got = wait_for("/unsigned", id, 1);
  ASSERT_EQ(got.size(), 1u) << describe(verifier->deliveries());
  EXPECT_FALSE(got[0].webhook_id);
  EXPECT_FALSE(got[0].webhook_timestamp);
  EXPECT_FALSE(got[0].webhook_signature);
  EXPECT_FALSE(got[0].verified);
  EXPECT_NE(got[0].reasons.at(0).find("Missing required headers"), std::string::npos);
  EXPECT_EQ(got[0].message_id, std::to_string(id));  // the X-Dmq-* headers are still there
}

}  // namespace
}  // namespace dmq::e2e
