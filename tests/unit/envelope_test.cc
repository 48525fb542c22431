// envelope_test: the API's envelope (ingest/envelope.h) is valid UTF-8 JSON whatever text
// it carries.
#include "ingest/envelope.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>

using namespace dmq::ingest;

namespace {

const std::string fffd = "\xEF\xBF\xBD";

}  // namespace

TEST(utf8, well_formed_text_is_kept_as_it_is) {
  for (std::string s : {"", "ascii", "é", "订单", "😀", "\x7f", "\xF4\x8F\xBF\xBF"}) {
    EXPECT_TRUE(is_utf8(s)) << s;
    EXPECT_EQ(to_utf8(s), s);
  }
}

TEST(utf8, each_byte_outside_a_well_formed_sequence_becomes_u_fffd) {
  const std::pair<std::string, std::string> cases[] = {
      {"\xff", fffd},                                   // never in UTF-8
      {"a\x80z", "a" + fffd + "z"},                     // a lone continuation byte
      {"\xc3", fffd},                                   // truncated at the end
      {"\xc3(", fffd + "("},                            // truncated before ASCII
      {"\xc0\xaf", fffd + fffd},                        // an overlong '/'
      {"\xe0\x80\xaf", fffd + fffd + fffd},             // an overlong '/' in three bytes
      {"\xed\xa0\x80", fffd + fffd + fffd},             // a UTF-16 surrogate, U+D800
      {"\xf4\x90\x80\x80", fffd + fffd + fffd + fffd},  // past U+10FFFF
      {"\xf5\x80", fffd + fffd},
      {"é\xffé", "é" + fffd + "é"},
  };
  for (const auto& [in, out] : cases) {
    EXPECT_FALSE(is_utf8(in)) << in;
    EXPECT_EQ(to_utf8(in), out) << in;
    EXPECT_TRUE(is_utf8(to_utf8(in)));
  }
}

TEST(envelope, a_message_and_data_that_are_not_utf8_make_valid_json) {
  auto r = fail(errc::not_found, "no such path: /\xff\xfe", 404);
  auto v = boost::json::parse(r.body);  // throws on invalid UTF-8
  EXPECT_EQ(std::string(v.at("message").as_string()), "no such path: /" + fffd + fffd);
  EXPECT_EQ(v.at("data"), v.at("message"));
  EXPECT_EQ(r.status, 404);
}

TEST(envelope, the_hot_path_is_unchanged) {
  EXPECT_EQ(envelope(errc::ok, "", std::uint64_t{374581012738048}),
            R"({"code":0,"message":"","data":374581012738048})");
  EXPECT_EQ(envelope(errc::save_failed, "redis save failed", false),
            R"({"code":106,"message":"redis save failed","data":false})");
}
