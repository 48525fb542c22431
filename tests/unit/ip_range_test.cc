#include "util/ip_range.h"

#include <gtest/gtest.h>

namespace {

using dmq::util::ip_address;
using dmq::util::ip_range;
using dmq::util::parse_ip;

ip_address ip(std::string_view text) {
  auto a = parse_ip(text);
  EXPECT_TRUE(a) << text;
  return a.value_or(ip_address{});
}

bool in(std::string_view range, std::string_view addr) {
  auto r = ip_range::parse(range);
  EXPECT_TRUE(r) << range;
  return r && r->contains(ip(addr));
}

TEST(parse_ip, ipv4_is_held_ipv4_mapped) {
  ip_address want{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
  EXPECT_EQ(ip("127.0.0.1"), want);
  EXPECT_EQ(ip("::ffff:127.0.0.1"), want);
}

TEST(parse_ip, ipv6) {
  ip_address want{};
  want[15] = 1;
  EXPECT_EQ(ip("::1"), want);
  EXPECT_EQ(ip("0:0:0:0:0:0:0:1"), want);
}

TEST(parse_ip, refuses_what_is_not_an_address) {
  for (auto bad : {"", "localhost", "1.2.3", "1.2.3.4.5", "256.1.1.1", " 1.2.3.4", "1.2.3.4 ",
                   "fe80::1%eth0", "1.2.3.4/8", ":::", "12345::"})
    EXPECT_FALSE(parse_ip(bad)) << bad;
}

TEST(ip_range, bare_address_is_a_single_host) {
  auto r = ip_range::parse("10.1.2.3");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->prefix_len, 128);
  EXPECT_EQ(r->text, "10.1.2.3");
  EXPECT_TRUE(r->contains(ip("10.1.2.3")));
  EXPECT_FALSE(r->contains(ip("10.1.2.4")));
  EXPECT_EQ(ip_range::parse("::1")->prefix_len, 128);
}

TEST(ip_range, ipv4_prefix_counts_from_the_mapped_prefix) {
  EXPECT_EQ(ip_range::parse("10.0.0.0/8")->prefix_len, 96 + 8);
  EXPECT_TRUE(in("10.0.0.0/8", "10.255.0.1"));
  EXPECT_FALSE(in("10.0.0.0/8", "11.0.0.1"));
  EXPECT_TRUE(in("192.168.1.0/25", "192.168.1.127"));
  EXPECT_FALSE(in("192.168.1.0/25", "192.168.1.128"));
}

TEST(ip_range, host_bits_are_masked) {
  auto r = ip_range::parse("10.9.8.7/8");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->base, ip("10.0.0.0"));
  EXPECT_TRUE(r->contains(ip("10.1.1.1")));
  EXPECT_EQ(r->text, "10.9.8.7/8");
}

TEST(ip_range, ipv6_ranges) {
  EXPECT_TRUE(in("fd00::/8", "fd12:3456::1"));
  EXPECT_FALSE(in("fd00::/8", "fe80::1"));
  EXPECT_TRUE(in("::1/128", "::1"));
  EXPECT_FALSE(in("::1/128", "::2"));
  EXPECT_TRUE(in("::/0", "2001:db8::1"));
}

TEST(ip_range, families_meet_through_the_mapped_form) {
  EXPECT_TRUE(in("0.0.0.0/0", "8.8.8.8"));
  EXPECT_FALSE(in("0.0.0.0/0", "::1"));  // IPv4 /0 is every IPv4 address, no IPv6 one
  EXPECT_TRUE(in("::ffff:10.0.0.0/104", "10.2.3.4"));
  EXPECT_TRUE(in("127.0.0.1", "::ffff:127.0.0.1"));
}

TEST(ip_range, refuses_bad_prefixes_and_garbage) {
  for (auto bad :
       {"", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/ 8",
        "10.0.0.0/8/8", "10.0.0.0/1000", "10.0.0.0/x", "nonsense/8", "10.0.0/8"})
    EXPECT_FALSE(ip_range::parse(bad)) << bad;
  EXPECT_TRUE(ip_range::parse("10.0.0.0/32"));
  EXPECT_TRUE(ip_range::parse("::/128"));
}

}  // namespace
