// record_test: the one-string message record (storage/record.h), the format the Lua
// scripts share (scripts/lib/record.lua): v2, written now, and v1, still read.
#include "storage/record.h"

#include <gtest/gtest.h>

#include <cstdint>
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

// The example of docs/storage.md, v2 and v1.
constexpr std::string_view doc_v2 =
    R"(~mwuqhzu4,255s0,5preo0,15:svs:notice:user3:b:10:7:{"a":1}6:wet2342:w0)";
constexpr std::string_view doc_v1 =
    R"(13:179552713975613:179552353975613:179587273975615:svs:notice:user3:b:10:7:{"a":1}6:wet2347:waiting1:0)";

model::message doc_message() {
  model::message m;
  m.cmd = "svs:notice:user";
  m.bucket = "b:1";
  m.params = R"({"a":1})";
  m.due_ms = 1795527139756;
  m.create_ms = m.due_ms - 3600000;  // delay_ms 1 h
  return m;
}

TEST(record, a_new_record_has_the_documented_layout) {
  std::vector<std::string> consumers{"wet234"};
  auto m = doc_message();
  EXPECT_EQ(storage::encode_record(m, m.due_ms + 4 * 86400000LL, consumers), doc_v2);
}

TEST(record, a_v1_record_reads_as_the_v2_record_of_the_same_message) {
  auto v1 = storage::decode_record(doc_v1);
  auto v2 = storage::decode_record(doc_v2);
  ASSERT_TRUE(v1);
  ASSERT_TRUE(v2);
  for (const auto* r : {&*v1, &*v2}) {
    EXPECT_EQ(r->msg.due_ms, 1795527139756);
    EXPECT_EQ(r->msg.create_ms, 1795523539756);
    EXPECT_EQ(r->data_expire_at_ms, 1795872739756);
    EXPECT_EQ(r->msg.cmd, "svs:notice:user");
    EXPECT_EQ(r->msg.bucket, "b:1");
    EXPECT_EQ(r->msg.request_id, "");
    EXPECT_EQ(r->msg.params, R"({"a":1})");
    ASSERT_EQ(r->consumers.size(), 1u);
    EXPECT_EQ(r->consumers[0].name, "wet234");
    EXPECT_EQ(r->consumers[0].status, "waiting");
    EXPECT_EQ(r->consumers[0].attempts, 0);
  }
  EXPECT_EQ(storage::encode(*v1), doc_v2);  // written again, a v1 record becomes v2
  EXPECT_EQ(storage::encode_v1(*v2), doc_v1);
  EXPECT_EQ(doc_v1.size() - doc_v2.size(), 33u);  // 1 h delay; due now: 39
}

TEST(record, every_status_and_odd_times_survive_v2) {
  auto m = sample();
  m.create_ms = m.due_ms + 5000;  // a due time in the past: created after it
  std::vector<std::string> names{"a", "b", "c", "d", "e"};
  auto r = storage::decode_record(storage::encode_record(m, m.due_ms - 1, names));
  ASSERT_TRUE(r);
  const char* statuses[] = {"waiting", "doing", "done", "failure", "cancelled"};
  for (std::size_t i = 0; i < 5; ++i) {
    r->consumers[i].status = statuses[i];
    r->consumers[i].attempts = static_cast<int>(i * 7);
  }
  auto s = storage::encode(*r);
  ASSERT_TRUE(s.starts_with('~')) << s;
  auto again = storage::decode_record(s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->msg.due_ms, m.due_ms);
  EXPECT_EQ(again->msg.create_ms, m.create_ms);
  EXPECT_EQ(again->data_expire_at_ms, m.due_ms - 1);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(again->consumers[i].status, statuses[i]);
    EXPECT_EQ(again->consumers[i].attempts, static_cast<int>(i * 7));
  }
  // Extreme times (a fuzzed record, never dmq's) survive too: differences wrap.
  r->msg.due_ms = INT64_MIN;
  r->msg.create_ms = INT64_MAX;
  r->data_expire_at_ms = INT64_MAX;
  again = storage::decode_record(storage::encode(*r));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->msg.due_ms, INT64_MIN);
  EXPECT_EQ(again->msg.create_ms, INT64_MAX);
  EXPECT_EQ(again->data_expire_at_ms, INT64_MAX);
}

TEST(record, a_status_without_a_v2_letter_is_written_as_v1) {
  auto r = storage::decode_record(doc_v2);
  ASSERT_TRUE(r);
  r->consumers[0].status = "paused";
  auto s = storage::encode(*r);
  EXPECT_FALSE(s.starts_with('~')) << s;
  auto again = storage::decode_record(s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->consumers[0].status, "paused");
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
  EXPECT_EQ(storage::encode(*storage::decode_record(storage::encode_v1(*r))), s);
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
  for (std::string bad : {"~", "~1,2,3", "~1,2,3,1:c1:b1:r", "~1,2,3,1:c1:b1:r1:p1:n",
                          "~1,2,3,1:c1:b1:r1:p1:n1:w",    // no attempts
                          "~1,2,3,1:c1:b1:r1:p1:n2:x0",   // no such status
                          "~1,2,3,1:c1:b1:r1:p1:n3:w+1",  // not a number
                          "~1,,3,1:c1:b1:r1:p", "~1,2,3;1:c1:b1:r1:p", "~1,2,+3,1:c1:b1:r1:p"})
    EXPECT_FALSE(storage::decode_record(bad)) << bad;
  EXPECT_TRUE(storage::decode_record("~1,2,3,1:c1:b1:r1:p"));            // no consumers
  EXPECT_TRUE(storage::decode_record("~-z,-1,Z,1:c1:b1:r1:p1:n3:f-1"));  // signs, cases
}
