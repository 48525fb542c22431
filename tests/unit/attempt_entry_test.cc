#include "dispatch/attempt_entry.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "dispatch/recent_window.h"
#include "util/metrics.h"

namespace dmq::dispatch {
namespace {

TEST(attempt_entry, error_kinds_name_what_went_wrong) {
  EXPECT_EQ(error_kind(200, ""), "");
  EXPECT_EQ(error_kind(204, ""), "");
  EXPECT_EQ(error_kind(503, ""), "http");
  EXPECT_EQ(error_kind(302, ""), "http");
  EXPECT_EQ(error_kind(0, "timeout"), "timeout");
  EXPECT_EQ(error_kind(0, "Connection refused"), "refused");
  EXPECT_EQ(error_kind(0, "Connection reset by peer"), "reset");
  EXPECT_EQ(error_kind(0, "end of stream"), "reset");
  EXPECT_EQ(error_kind(0, "Broken pipe"), "reset");
  EXPECT_EQ(error_kind(0, "cannot resolve nowhere.invalid: Host not found (authoritative)"), "dns");
  EXPECT_EQ(error_kind(0, "TLS handshake failed: certificate verify failed (SSL routines)"), "tls");
  EXPECT_EQ(error_kind(0, "stream truncated"), "tls");
  EXPECT_EQ(error_kind(0, "bad version"), "http");
  EXPECT_EQ(error_kind(0, "partial message"), "http");
  EXPECT_EQ(error_kind(0, "No route to host"), "other");
}

TEST(attempt_entry, utf8_is_repaired_and_a_cut_sequence_dropped) {
  EXPECT_EQ(repair_utf8("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(repair_utf8("a\xFF"
                        "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(repair_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong
  EXPECT_EQ(repair_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(repair_utf8("ok\xE2\x82"), "ok");  // "€" cut short by the byte limit
}

TEST(attempt_entry, json_is_compact_one_line_with_the_answer_bounded) {
  attempt_entry e{3,       1000, 42, "retry", 503, "http", "line1\nline2 \"q\" \xE2\x82\xAC tail",
                  "host:7"};
  auto s = to_json(e, 18);
  EXPECT_EQ(s.find('\n'), std::string::npos) << s;
  auto v = boost::json::parse(s).as_object();
  EXPECT_EQ(v.at("attempt").as_int64(), 3);
  EXPECT_EQ(v.at("start_ms").as_int64(), 1000);
  EXPECT_EQ(v.at("duration_ms").as_int64(), 42);
  EXPECT_EQ(v.at("outcome").as_string(), "retry");
  EXPECT_EQ(v.at("http_status").as_int64(), 503);
  EXPECT_EQ(v.at("error").as_string(), "http");
  EXPECT_EQ(v.at("answer").as_string(), "line1\nline2 \"q\" ");  // 18 bytes cut the euro sign
  EXPECT_EQ(v.at("dispatcher").as_string(), "host:7");
  // In the order of the spec.
  EXPECT_EQ(s.substr(0, 24), R"({"attempt":3,"start_ms":)");
}

TEST(recent_window, sums_the_last_sixty_seconds_only) {
  recent_window w(util::latency_buckets);
  w.done(100);
  w.done(100);
  w.failed(130);
  w.late(130, 0.0005);  // <= 1 ms: the first bucket
  w.late(159, 20.0);    // over 10 s: +Inf, the last
  auto t = w.sum(159);
  EXPECT_EQ(t.done, 2u);
  EXPECT_EQ(t.failed, 1u);
  ASSERT_EQ(t.lateness.size(), std::size(util::latency_buckets) + 1);
  EXPECT_EQ(t.lateness.front(), 1u);
  EXPECT_EQ(t.lateness.back(), 1u);
  // Second 100 falls out of the window at 160; a slot reused for 190 forgets 130.
  EXPECT_EQ(w.sum(160).done, 0u);
  w.done(190);
  t = w.sum(190);
  EXPECT_EQ(t.done, 1u);
  EXPECT_EQ(t.failed, 0u);
  EXPECT_EQ(t.lateness.front(), 0u);
  EXPECT_EQ(t.lateness.back(), 1u);
}

}  // namespace
}  // namespace dmq::dispatch
