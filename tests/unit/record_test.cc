// record_test: the one-string message record (storage/record.h), the format the Lua
// scripts share (scripts/lib/record.lua).
#include "storage/record.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace dmq;

namespace {

model::message sample() {
  model::message m;
  m.cmd = "sds:create:order";
  m.params = "{\"k\":\"a:b\"}\n3:xyz";  // looks like a field: must stay data
  m.bucket = "order:{1}* x";
  m.request_id = "";
  m.due_ms = 1795527139756;
  m.create_ms = 1795527139000;
  return m;
}

}  // namespace

TEST(record, a_new_record_has_the_documented_layout) {
  model::message m;
  m.cmd = "svs:notice:user";
  m.bucket = "b:1";
  m.params = R"({"a":1})";
  m.due_ms = m.create_ms = 1795527139756;
  std::vector<std::string> consumers{"wet234"};
  EXPECT_EQ(
      storage::encode_record(m, 1795872739756, consumers),
      R"(13:179552713975613:179552713975613:179587273975615:svs:notice:user3:b:10:7:{"a":1}6:wet2347:waiting1:0)");
}

TEST(record, decode_gives_back_every_field_whatever_bytes_they_hold) {
  auto m = sample();
  std::vector<std::string> consumers{"dgfa", "a:b"};
  auto r = storage::decode_record(storage::encode_record(m, 42, consumers));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->msg.cmd, m.cmd);
  EXPECT_EQ(r->msg.params, m.params);
  EXPECT_EQ(r->msg.bucket, m.bucket);
  EXPECT_EQ(r->msg.request_id, "");
  EXPECT_EQ(r->msg.due_ms, m.due_ms);
  EXPECT_EQ(r->msg.create_ms, m.create_ms);
  EXPECT_EQ(r->data_expire_at_ms, 42);
  ASSERT_EQ(r->consumers.size(), 2u);
  EXPECT_EQ(r->consumers[1].name, "a:b");
  EXPECT_EQ(r->consumers[1].status, "waiting");
  EXPECT_EQ(r->consumers[1].attempts, 0);
  ASSERT_NE(r->status("dgfa"), nullptr);
  EXPECT_EQ(r->status("nobody"), nullptr);
}

TEST(record, encode_of_a_decoded_record_is_the_same_string) {
  auto m = sample();
  std::vector<std::string> consumers{"dgfa"};
  auto s = storage::encode_record(m, 7, consumers);
  auto r = storage::decode_record(s);
  ASSERT_TRUE(r);
  EXPECT_EQ(storage::encode(*r), s);
  r->consumers[0].status = "doing";
  r->consumers[0].attempts = 12;
  auto again = storage::decode_record(storage::encode(*r));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->consumers[0].status, "doing");
  EXPECT_EQ(again->consumers[0].attempts, 12);
}

TEST(record, malformed_strings_are_refused_not_misread) {
  for (std::string bad : {"", "x", "13:123", "5:abc", "1:1 1:2 1:3", "99999999999999999999:x",
                          "1:11:21:31:c1:b1:r1:p1:n1:s",  // a consumer without attempts
                          "1:x1:21:31:c1:b1:r1:p"})       // due is not a number
    EXPECT_FALSE(storage::decode_record(bad)) << bad;
  EXPECT_TRUE(storage::decode_record("1:11:21:31:c1:b1:r1:p"));  // no consumers: valid
}
