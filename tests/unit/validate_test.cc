#include "ingest/validate.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

using namespace dmq;
using ingest::errc;

namespace {

config::settings test_settings() {
  config::settings s;
  config::producer sds;
  sds.project = "sds";
  sds.allow_ip = {*util::ip_range::parse("127.0.0.1"), *util::ip_range::parse("10.1.0.0/16")};
  config::producer svs;
  svs.project = "svs";
  svs.allow_ip = {*util::ip_range::parse("127.0.0.1")};
  s.producers = {sds, svs};
  config::command c;
  c.project = "sds";
  c.cmd = "sds:create:order";
  config::consumer dgfa;
  dgfa.name = "dgfa";
  dgfa.host = "127.0.0.1:1";
  dgfa.path = "/x";
  c.consumers = {dgfa};
  c.consumer_names = {"dgfa"};
  s.commands = {c};
  s.limits.max_field_bytes = 32;
  s.limits.max_params_bytes = 64;
  return s;
}

ingest::caller local() {
  return {*util::parse_ip("127.0.0.1"), "127.0.0.1"};
}

constexpr std::int64_t now = 1795000000123;

std::variant<ingest::accepted, ingest::refusal> check(std::string_view json,
                                                      ingest::caller from = local()) {
  static const auto cfg = test_settings();
  return ingest::validate_message(boost::json::parse(json), cfg, ingest::credential{from, {}}, now);
}

ingest::refusal refused(std::string_view json, ingest::caller from = local()) {
  auto r = check(json, from);
  EXPECT_TRUE(std::holds_alternative<ingest::refusal>(r)) << json;
  return std::holds_alternative<ingest::refusal>(r) ? std::get<ingest::refusal>(r)
                                                    : ingest::refusal{errc::ok, ""};
}

}  // namespace

TEST(validate, accepts_the_seed_example) {
  auto r = check(R"({"project":"sds","cmd":"sds:create:order","timestamp":0,
      "params":"{\"order_id\":34256}","request_id":"235423532","bucket":"order:342543"})");
  ASSERT_TRUE(std::holds_alternative<ingest::accepted>(r));
  const auto& m = std::get<ingest::accepted>(r).msg;
  EXPECT_EQ(m.project, "sds");
  EXPECT_EQ(m.params, "{\"order_id\":34256}");
  EXPECT_EQ(m.request_id, "235423532");
  EXPECT_EQ(m.due_ms, now);  // timestamp 0 = now
  EXPECT_EQ(std::get<ingest::accepted>(r).command->cmd, "sds:create:order");
}

TEST(validate, timestamp_is_seconds_and_delay_ms_is_milliseconds) {
  auto a =
      check(R"({"project":"sds","cmd":"sds:create:order","bucket":"b","timestamp":1800000000})");
  EXPECT_EQ(std::get<ingest::accepted>(a).msg.due_ms, 1800000000000);
  auto b = check(R"({"project":"sds","cmd":"sds:create:order","bucket":"b","delay_ms":1500})");
  EXPECT_EQ(std::get<ingest::accepted>(b).msg.due_ms, now + 1500);
}

TEST(validate, names_the_missing_or_empty_required_field) {
  EXPECT_EQ(refused(R"({"cmd":"sds:create:order","bucket":"b"})").text.rfind("project:", 0), 0u);
  EXPECT_EQ(refused(R"({"project":"sds","bucket":"b"})").text.rfind("cmd:", 0), 0u);
  auto r = refused(R"({"project":"sds","cmd":"sds:create:order","bucket":""})");
  EXPECT_EQ(r.code, errc::invalid);
  EXPECT_EQ(r.text, "bucket: must be a non-empty string");
}

TEST(validate, refuses_wrong_types_by_field_name) {
  EXPECT_EQ(refused(R"({"project":1,"cmd":"sds:create:order","bucket":"b"})").text,
            "project: must be a string");
  EXPECT_EQ(
      refused(R"({"project":"sds","cmd":"sds:create:order","bucket":"b","params":{"a":1}})").text,
      "params: must be a string");
  EXPECT_EQ(
      refused(R"({"project":"sds","cmd":"sds:create:order","bucket":"b","timestamp":"0"})").text,
      "timestamp: must be an integer");
  EXPECT_EQ(
      refused(R"({"project":"sds","cmd":"sds:create:order","bucket":"b","timestamp":1.5})").text,
      "timestamp: must be an integer");
  EXPECT_EQ(
      refused(R"({"project":"sds","cmd":"sds:create:order","bucket":"b","timestamp":-1})").text,
      "timestamp: must not be negative");
  EXPECT_EQ(refused(R"([1,2])").text, "message: must be a JSON object");
}

TEST(validate, catches_milliseconds_sent_as_timestamp) {
  auto r = refused(
      R"({"project":"sds","cmd":"sds:create:order","bucket":"b","timestamp":1800000000000000})");
  EXPECT_NE(r.text.find("delay_ms"), std::string::npos);
}

TEST(validate, refuses_both_timestamp_and_delay) {
  auto r = refused(
      R"({"project":"sds","cmd":"sds:create:order","bucket":"b","timestamp":1800000000,"delay_ms":5})");
  EXPECT_EQ(r.text.rfind("delay_ms:", 0), 0u);
}

TEST(validate, enforces_length_limits) {
  auto r = refused(
      R"({"project":"sds","cmd":"sds:create:order","bucket":"0123456789012345678901234567890123"})");
  EXPECT_EQ(r.text, "bucket: is 34 bytes, the limit is 32");
  std::string params(65, 'x');
  auto p = refused(R"({"project":"sds","cmd":"sds:create:order","bucket":"b","params":")" + params +
                   "\"}");
  EXPECT_EQ(p.text.rfind("params: is 65 bytes", 0), 0u);
}

TEST(validate, checks_producer_then_command_as_the_seed) {
  auto unknown = refused(R"({"project":"nope","cmd":"sds:create:order","bucket":"b"})");
  EXPECT_EQ(unknown.code, errc::unknown_producer);
  auto other_ip = refused(R"({"project":"svs","cmd":"sds:create:order","bucket":"b"})",
                          {*dmq::util::parse_ip("10.1.2.3"), "10.1.2.3"});
  EXPECT_EQ(other_ip.code, errc::unknown_producer);
  EXPECT_NE(other_ip.text.find("10.1.2.3"), std::string::npos);
  auto cmd = refused(R"({"project":"sds","cmd":"sds:nope","bucket":"b"})");
  EXPECT_EQ(cmd.code, errc::unknown_command);
  auto wrong_project = refused(R"({"project":"svs","cmd":"sds:create:order","bucket":"b"})");
  EXPECT_EQ(wrong_project.code, errc::unknown_command);
  EXPECT_NE(wrong_project.text.find("belongs to project 'sds'"), std::string::npos);
}

TEST(validate, allow_ip_takes_cidr_ranges) {
  auto r = check(R"({"project":"sds","cmd":"sds:create:order","bucket":"b"})",
                 {*dmq::util::parse_ip("10.1.200.7"), "10.1.200.7"});
  EXPECT_TRUE(std::holds_alternative<ingest::accepted>(r));
}

TEST(validate, keeps_special_characters_as_data) {
  auto r = check(
      R"({"project":"sds","cmd":"sds:create:order","bucket":"a:{b}*c d\ne","request_id":"\u00e9\u4e2d"})");
  ASSERT_TRUE(std::holds_alternative<ingest::accepted>(r));
  EXPECT_EQ(std::get<ingest::accepted>(r).msg.bucket, "a:{b}*c d\ne");
  EXPECT_EQ(std::get<ingest::accepted>(r).msg.request_id, "\xc3\xa9\xe4\xb8\xad");
}

TEST(parse_id, reads_positive_integers_below_2_pow_53) {
  EXPECT_EQ(ingest::parse_id_text("15971219465821"), 15971219465821u);
  EXPECT_EQ(ingest::parse_id(boost::json::parse("15971219465821")), 15971219465821u);
  EXPECT_EQ(ingest::parse_id(boost::json::parse("\"42\"")), 42u);
  EXPECT_EQ(ingest::parse_id_text("0"), 0u);
  EXPECT_EQ(ingest::parse_id_text("-5"), 0u);
  EXPECT_EQ(ingest::parse_id_text("12a"), 0u);
  EXPECT_EQ(ingest::parse_id_text("9007199254740992"), 0u);
  EXPECT_EQ(ingest::parse_id(boost::json::parse("1.5")), 0u);
}
