// overload_test: while Redis does not answer, saves wait in dmq only up to
// limits.max_queued_saves; past that a request is answered at once, 503 with Retry-After
// and code 129, instead of queueing without bound (issue 12, section 2).
#include <mutex>
#include <thread>

#include "delivery_fixture.h"

namespace dmq::e2e {
namespace {

struct overload_test : delivery_test {
  void configure() override { extra = "limits:\n  max_queued_saves: 5\n"; }
};

TEST_F(overload_test, past_the_queue_bound_saves_are_refused_at_once_with_retry_after) {
  redis.pause();  // saves wait: two flushes for Redis, then the queue
  std::mutex mu;
  std::vector<test::http_reply> refused;
  std::vector<std::int64_t> took;
  std::vector<std::thread> producers;
  for (int i = 0; i < 30; ++i)
    producers.emplace_back([&] {
      auto t0 = now_ms();
      auto r = test::call(port, "POST", "/api/message/single", text(message()));
      std::lock_guard lock(mu);
      if (r.status == 503) {
        refused.push_back(r);
        took.push_back(now_ms() - t0);
      }
    });
  ASSERT_TRUE(test::wait_until(
      [&] {
        std::lock_guard lock(mu);
        return refused.size() >= 10;
      },
      5s))
      << "no save refused for a full queue";
  redis.resume();
  for (auto& t : producers) t.join();
  for (std::size_t i = 0; i < refused.size(); ++i) {
    const auto& r = refused[i];
    EXPECT_EQ(r.code(), 129) << r.body;
    EXPECT_EQ(r.headers.count("retry-after") ? r.headers.at("retry-after") : "", "1");
    EXPECT_NE(r.body.find("max_queued_saves"), std::string::npos) << r.body;
    EXPECT_LT(took[i], 500) << "refused at once, not after the Redis timeout";
  }
}

}  // namespace
}  // namespace dmq::e2e
