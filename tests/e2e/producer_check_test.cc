// producer_check_test: the caller's address as the producer check sees it. Project sds
// allows only 10.0.0.1 here, and every test connects from 127.0.0.1: X-Forwarded-For and
// X-Real-Ip are believed only from trusted_proxies (the seed believed anyone, NOTES.md).
#include "fixture.h"

namespace dmq::e2e {
namespace {

struct producer_check_test : dmq_test {
  void edit_config(std::string& yaml) const override {
    ASSERT_TRUE(replace_once(yaml, "  - project: sds\n    allow_ip: [127.0.0.1]\n",
                             "  - project: sds\n    allow_ip: [10.0.0.1]\n"));
  }
  http_reply post_from(const std::string& header, const std::string& value) const {
    return post_single(order(), {{header, value}});
  }
};

// untrusted: no trusted_proxies at all.
using untrusted_test = producer_check_test;

TEST_F(untrusted_test, a_spoofed_x_forwarded_for_does_not_help) {
  auto r = post_from("X-Forwarded-For", "10.0.0.1");
  EXPECT_EQ(r.code(), 103) << r.body;
  EXPECT_EQ(r.data(), "project: 'sds' does not allow callers from 127.0.0.1");
  EXPECT_TRUE(message_keys().empty());
}

TEST_F(untrusted_test, a_spoofed_x_real_ip_does_not_help) {
  auto r = post_from("X-Real-Ip", "10.0.0.1");
  EXPECT_EQ(r.code(), 103) << r.body;
  EXPECT_EQ(r.data(), "project: 'sds' does not allow callers from 127.0.0.1");
}

TEST_F(untrusted_test, a_spoofed_chain_does_not_help_in_a_batch_either) {
  auto r = test::call(port, "POST", "/api/message/batch", text(json::array{order()}),
                      {{"X-Forwarded-For", "10.0.0.1, 10.0.0.1"}});
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(r.data(), json::array{"project: 'sds' does not allow callers from 127.0.0.1"});
  EXPECT_TRUE(message_keys().empty());
}

TEST_F(untrusted_test, an_untrusted_peers_garbage_header_is_ignored) {
  auto r = post_single(notice(), {{"X-Forwarded-For", "not an ip"}});
  EXPECT_EQ(r.code(), 0) << r.body;  // svs allows 127.0.0.1, the real peer
}

struct trusted_proxy_test : producer_check_test {
  std::string extra_yaml() const override { return "trusted_proxies: [127.0.0.1]\n"; }
};

TEST_F(trusted_proxy_test, x_forwarded_for_from_a_trusted_proxy_is_believed) {
  auto r = post_from("X-Forwarded-For", "10.0.0.1");
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(hget(msg_key(id_of(r)), "cmd"), "sds:create:order");
}

TEST_F(trusted_proxy_test, trusted_hops_are_skipped_from_the_right) {
  EXPECT_EQ(post_from("X-Forwarded-For", "10.0.0.1, 127.0.0.1").code(), 0);
  EXPECT_EQ(post_from("X-Forwarded-For", "10.0.0.1,127.0.0.1 , 127.0.0.1").code(), 0);
}

TEST_F(trusted_proxy_test, the_rightmost_untrusted_hop_is_the_caller) {
  // A client can prepend anything; only the hop the trusted proxy saw counts.
  auto r = post_from("X-Forwarded-For", "10.0.0.1, 10.0.0.2");
  EXPECT_EQ(r.code(), 103) << r.body;
  EXPECT_EQ(r.data(), "project: 'sds' does not allow callers from 10.0.0.2");
}

TEST_F(trusted_proxy_test, x_real_ip_from_a_trusted_proxy_is_believed) {
  EXPECT_EQ(post_from("X-Real-Ip", "10.0.0.1").code(), 0);
  auto r = post_from("X-Real-Ip", "10.0.0.3");
  EXPECT_EQ(r.code(), 103) << r.body;
  EXPECT_EQ(r.data(), "project: 'sds' does not allow callers from 10.0.0.3");
}

TEST_F(trusted_proxy_test, without_a_header_the_proxy_itself_is_the_caller) {
  auto r = post_single(order());
  EXPECT_EQ(r.code(), 103) << r.body;
  EXPECT_EQ(r.data(), "project: 'sds' does not allow callers from 127.0.0.1");
}

TEST_F(trusted_proxy_test, a_malformed_x_forwarded_for_is_102) {
  for (const char* v : {"not an ip", "10.0.0.1, nope", "10.0.0.1,,"}) {
    SCOPED_TRACE(v);
    auto r = post_from("X-Forwarded-For", v);
    EXPECT_EQ(r.code(), 102) << r.body;
    EXPECT_EQ(r.data(), "X-Forwarded-For: not a list of IP addresses");
  }
  EXPECT_TRUE(message_keys().empty());
}

}  // namespace
}  // namespace dmq::e2e
