#include "ingest/caller_ip.h"

#include <gtest/gtest.h>

using namespace dmq;

namespace {

http::request from(std::string_view peer, std::string xff = "", std::string real = "") {
  http::request r;
  r.peer = *util::parse_ip(peer);
  r.peer_text = peer;
  r.forwarded_for = std::move(xff);
  r.real_ip = std::move(real);
  return r;
}

std::vector<util::ip_range> proxies() {
  return {*util::ip_range::parse("127.0.0.0/8")};
}

}  // namespace

TEST(caller_ip, headers_from_an_untrusted_peer_are_ignored) {
  auto c = ingest::caller_ip(from("10.0.0.9", "127.0.0.1", "127.0.0.1"), proxies());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->text, "10.0.0.9");
}

TEST(caller_ip, no_trusted_proxies_means_the_socket_peer) {
  auto c = ingest::caller_ip(from("127.0.0.1", "10.9.9.9"), {});
  EXPECT_EQ(c->text, "127.0.0.1");
}

TEST(caller_ip, trusted_proxy_gives_the_nearest_untrusted_forwarded_address) {
  // A client may put anything on the left; only what trusted proxies appended counts.
  auto c = ingest::caller_ip(from("127.0.0.1", "1.2.3.4, 10.0.0.5, 127.0.0.2"), proxies());
  EXPECT_EQ(c->text, "10.0.0.5");
}

TEST(caller_ip, x_real_ip_is_used_when_no_forwarded_for) {
  auto c = ingest::caller_ip(from("127.0.0.1", "", " 10.0.0.7 "), proxies());
  EXPECT_EQ(c->text, "10.0.0.7");
}

TEST(caller_ip, garbage_in_a_trusted_header_is_refused) {
  EXPECT_FALSE(ingest::caller_ip(from("127.0.0.1", "not-an-ip"), proxies()).has_value());
}

TEST(caller_ip, ipv6_peers_work) {
  std::vector<util::ip_range> v6{*util::ip_range::parse("::1/128")};
  auto c = ingest::caller_ip(from("::1", "2001:db8::1"), v6);
  EXPECT_EQ(c->text, "2001:db8::1");
}
