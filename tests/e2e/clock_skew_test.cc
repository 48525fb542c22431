// clock_skew_test: two dispatchers whose clocks are a minute ahead and a minute behind
// (libfaketime) share one Redis: due times and leases are decided on Redis's clock, so a
// message is delivered neither early nor a minute late, and each once (issue 12, section 2).
#include <cstdlib>

#include "delivery_fixture.h"

namespace dmq::e2e {
namespace {

constexpr const char* libfaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

struct clock_skew_test : delivery_test {
  void configure() override { start_run = false; }

  // start_skewed starts `dmq server` with its wall clock moved by offset (faketime's
  // syntax: "+60s"); the monotonic clock stays real.
  test::dmq_process& start_skewed(const char* offset) {
    ::setenv("LD_PRELOAD", libfaketime, 1);
    ::setenv("FAKETIME", offset, 1);
    ::setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1", 1);
    auto& p = start("server");
    ::unsetenv("LD_PRELOAD");
    ::unsetenv("FAKETIME");
    ::unsetenv("FAKETIME_DONT_FAKE_MONOTONIC");
    return p;
  }
};

TEST_F(clock_skew_test, dispatchers_a_minute_apart_deliver_on_time_and_once) {
  ASSERT_EQ(::access(libfaketime, R_OK), 0) << "faketime is not installed (scripts/setup.sh)";
  auto& client = start("client");
  // A backlog saved before the dispatchers start: due in 4 s.
  std::vector<std::uint64_t> ids;
  auto t0 = now_ms();
  for (int i = 0; i < 3; ++i)
    ids.push_back(post(message("{\"n\":" + std::to_string(i) + "}", 4000), client.port()));
  auto& ahead = start_skewed("+60s");
  auto& behind = start_skewed("-60s");
  EXPECT_NE(ahead.log().find("clock: this host's clock is"), std::string::npos) << ahead.log();

  ASSERT_TRUE(endpoint.wait_for_distinct("/dgfa/", 3, 15s))
      << ahead.log().substr(0, 3000) << behind.log().substr(0, 3000);
  for (const auto& r : endpoint.requests("/dgfa/")) {
    EXPECT_GE(r.arrived_ms - t0, 4000 - 5) << "delivered early: " << r.target;
    EXPECT_LE(r.arrived_ms - t0, 4000 + 2000) << "delivered late: " << r.target;
  }
  auto got = endpoint.ids_received("/dgfa/");
  EXPECT_EQ(got.size(), 3u) << "each message once";
}

}  // namespace
}  // namespace dmq::e2e
