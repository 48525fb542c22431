// clock_test: dmq under a wrong wall clock (libfaketime, Debian's faketime package): with a
// clock before 2024 no id can be made, so nothing is saved and /healthz says why, instead
// of ids that repeat (issue 12, 1.5: a batch of 200 got 128 distinct ids, two of them 0).
#include <cstdlib>

#include "fixture.h"

namespace dmq::e2e {
namespace {

constexpr const char* libfaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

// start_with_clock starts `dmq client` with its wall clock set to at (faketime's syntax);
// the monotonic clock, which times Redis and HTTP, stays real.
std::unique_ptr<test::dmq_process> start_with_clock(const std::string& dir, int port,
                                                    const char* at) {
  ::setenv("LD_PRELOAD", libfaketime, 1);
  ::setenv("FAKETIME", at, 1);
  ::setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1", 1);
  auto p = std::make_unique<test::dmq_process>(dir, port, "client", false);
  ::unsetenv("LD_PRELOAD");
  ::unsetenv("FAKETIME");
  ::unsetenv("FAKETIME_DONT_FAKE_MONOTONIC");
  return p;
}

TEST(clock_test, a_clock_before_2024_issues_no_id_and_saves_nothing) {
  ASSERT_EQ(::access(libfaketime, R_OK), 0) << "faketime is not installed (scripts/setup.sh)";
  test::redis_server redis;
  int port = test::free_port();
  auto dir = test::make_config_dir(redis.port(), port);
  auto dmq = start_with_clock(dir, port, "@2023-06-01 12:00:00");
  ASSERT_TRUE(test::wait_until([&] {
    try {
      return test::call(port, "GET", "/healthz").status != 0;
    } catch (...) {
      return false;
    }
  })) << dmq->log();

  auto health = test::call(port, "GET", "/healthz");
  EXPECT_EQ(health.status, 503) << health.body;
  EXPECT_NE(health.body.find("outside the message ids' time range"), std::string::npos)
      << health.body;
  auto one = test::call(port, "POST", "/api/message/single", text(order()));
  EXPECT_EQ(one.code(), 106) << one.body;
  EXPECT_NE(one.body.find("clock"), std::string::npos) << one.body;
  json::array batch;
  for (int i = 0; i < 200; ++i) batch.push_back(order("o-" + std::to_string(i)));
  auto many = test::call(port, "POST", "/api/message/batch", text(batch));
  ASSERT_EQ(many.code(), 0) << many.body.substr(0, 300);
  auto data = many.data();
  ASSERT_TRUE(data.is_array());
  for (const auto& v : data.as_array()) EXPECT_EQ(v, json::value(false));
  EXPECT_EQ(redis.cmd({"DBSIZE"}).integer, redis.cmd({"KEYS", "dmq:node:*"}).elements.size())
      << "nothing but the id node lease was written";
  EXPECT_NE(dmq->log().find("outside the message ids' time range"), std::string::npos)
      << dmq->log();
  dmq.reset();
  test::remove_config_dir(dir);
}

}  // namespace
}  // namespace dmq::e2e
