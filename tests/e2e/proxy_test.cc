// proxy_test: callers behind a real nginx and a real HAProxy (Debian's), configured as
// docs/security.md shows, with dmq's trusted_proxies: [127.0.0.1]. The honest client
// connects to the proxy from 127.0.0.5, which project pc allows; the attacker from
// 127.0.0.6 and sends "X-Forwarded-For: 127.0.0.5". Each proxy appends the address it saw
// (nginx to the header's value, HAProxy as a header line of its own): dmq must take that,
// the nearest address that is not a trusted proxy, over anything the client wrote.
#include "auth_fixture.h"
#include "support/reverse_proxy.h"

namespace dmq::e2e {
namespace {

using test::reverse_proxy;

const caller honest{"127.0.0.5", ""};
const caller attacker{"127.0.0.6", ""};
const test::header_list forged{{"X-Forwarded-For", "127.0.0.5"}};

class proxy_test : public auth_test, public ::testing::WithParamInterface<reverse_proxy::kind> {
 protected:
  void SetUp() override {
    if (!reverse_proxy::available(GetParam()))
      GTEST_SKIP() << reverse_proxy::binary(GetParam())
                   << " is not installed (scripts/setup.sh installs nginx and haproxy)";
    auth_test::SetUp();
    if (HasFatalFailure()) return;
    proxy = std::make_unique<reverse_proxy>(GetParam(), port);
  }
  void TearDown() override {
    proxy.reset();
    auth_test::TearDown();
  }

  std::string product_list() const override {
    return "product_list:\n"
           "  - project: pa\n"
           "    tokens: [env:DMQ_E2E_TOKEN_A]\n"
           "  - project: pb\n"
           "    tokens: [file:pb.token]\n"
           "  - project: pc\n"
           "    allow_ip: [127.0.0.5]\n"
           "  - project: pd\n"
           "    tokens: [\"" +
           sha256_line(token_d) +
           "\"]\n"
           "    allow_ip: [127.0.0.5]\n";
  }
  std::string extra_yaml() const override { return "trusted_proxies: [127.0.0.1]\n"; }

  // through makes one request as c through the proxy, with headers (and c's token).
  http_reply through(const caller& c, const std::string& method, const std::string& target,
                     const std::string& body = "", test::header_list headers = {}) const {
    if (!c.token.empty()) headers.emplace_back("Authorization", "Bearer " + c.token);
    return test::call_from(c.source, proxy->port(), method, target, body, headers);
  }
  http_reply single(const caller& c, const json::object& m,
                    const test::header_list& headers = {}) const {
    return through(c, "POST", "/api/message/single", text(m), headers);
  }

  std::string context() const { return "proxy config:\n" + proxy->config() + proxy->log(); }

  std::unique_ptr<reverse_proxy> proxy;
};

TEST_P(proxy_test, the_honest_client_is_accepted) {
  auto r = single(honest, message("c", R"({"via":"proxy"})"));
  ASSERT_EQ(r.code(), 0) << r.body << "\n" << context();
  EXPECT_EQ(params_in_redis(id_of(r), "c"), R"({"via":"proxy"})");
  // And manages its messages through the proxy.
  auto d = through(honest, "GET", "/api/message/detail" + q(id_of(r), "cc"));
  EXPECT_EQ(d.code(), 0) << d.body;
}

TEST_P(proxy_test, a_forged_x_forwarded_for_is_refused) {
  auto r = single(attacker, message("c", "{}"), forged);
  EXPECT_EQ(r.code(), 103) << r.body << "\n" << context();
  EXPECT_EQ(r.data(), json::value("project: 'pc' does not allow callers from 127.0.0.6")) << r.body;
  auto b = through(attacker, "POST", "/api/message/batch", text(json::array{message("c", "{}")}),
                   forged);
  ASSERT_EQ(b.code(), 0) << b.body;
  EXPECT_EQ(b.data(), json::array{"project: 'pc' does not allow callers from 127.0.0.6"});
  EXPECT_EQ(message_count(), 0u);
}

TEST_P(proxy_test, a_forged_x_forwarded_for_manages_nothing) {
  auto r = single(honest, message("c", R"({"n":"needle-proxy"})", 60000));
  ASSERT_EQ(r.code(), 0) << r.body;
  auto mine = id_of(r);
  auto d = through(attacker, "GET", "/api/message/detail" + q(mine, "cc"), "", forged);
  EXPECT_REFUSED_403(d);
  EXPECT_EQ(d.body.find("needle-proxy"), std::string::npos) << d.body;
  auto c = through(attacker, "POST", "/api/message/cancel", text(json::object{{"msg_id", mine}}),
                   forged);
  EXPECT_REFUSED_403(c);
  EXPECT_EQ(status_in_redis(mine, "c", "cc"), "waiting");
}

TEST_P(proxy_test, two_forged_lines_are_refused) {
  // The client sends two lines of its own; the proxy's address still comes last.
  auto r = single(attacker, message("c", "{}"),
                  {{"X-Forwarded-For", "127.0.0.5"}, {"X-Forwarded-For", "127.0.0.5"}});
  EXPECT_EQ(r.code(), 103) << r.body << "\n" << context();
  EXPECT_EQ(r.data(), json::value("project: 'pc' does not allow callers from 127.0.0.6"));
  r = single(attacker, message("c", "{}"),
             {{"X-Forwarded-For", "10.0.0.1, 127.0.0.5"}, {"X-Forwarded-For", "127.0.0.5"}});
  EXPECT_EQ(r.code(), 103) << r.body;
  EXPECT_EQ(message_count(), 0u);
}

TEST_P(proxy_test, a_token_from_the_wrong_address_is_refused_behind_the_proxy) {
  // pd needs its token and 127.0.0.5: the attacker holds the token (stolen) but not the
  // address, and forges it.
  auto r = single({"127.0.0.6", token_d}, message("d", "{}"), forged);
  EXPECT_EQ(r.code(), 103) << r.body << "\n" << context();
  EXPECT_EQ(r.data(), json::value("project: 'pd' does not allow callers from 127.0.0.6"));
  EXPECT_EQ(message_count(), 0u);
  r = single({"127.0.0.5", token_d}, message("d", "{}"));
  EXPECT_EQ(r.code(), 0) << r.body;
}

INSTANTIATE_TEST_SUITE_P(, proxy_test,
                         ::testing::Values(reverse_proxy::kind::nginx,
                                           reverse_proxy::kind::haproxy),
                         [](const auto& info) {
                           return info.param == reverse_proxy::kind::nginx ? "nginx" : "haproxy";
                         });

// Without a proxy, straight to dmq: 127.0.0.6 is not a trusted proxy, its header is ignored.
TEST_F(auth_test, a_forged_x_forwarded_for_straight_to_dmq_is_ignored) {
  auto r = test::call_from("127.0.0.6", port, "POST", "/api/message/single",
                           text(message("c", "{}")), forged);
  EXPECT_EQ(r.code(), 103) << r.body;
  EXPECT_EQ(r.data(), json::value("project: 'pc' does not allow callers from 127.0.0.6"));
}

}  // namespace
}  // namespace dmq::e2e
