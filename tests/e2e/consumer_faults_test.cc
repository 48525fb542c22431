// consumer_faults_test: the network between dmq and a consumer fails (a proxy of the
// tests' own in between): connections that go silent (no FIN, no RST) time out and are
// retried, reset connections are retried, and every message ends delivered, none lost.
#include "delivery_fixture.h"
#include "support/fault_proxy.h"

namespace dmq::e2e {
namespace {

struct consumer_faults_test : delivery_test {
  std::unique_ptr<test::fault_proxy> proxy;
  void configure() override {
    proxy = std::make_unique<test::fault_proxy>(endpoint.port());
    dgfa.host = "127.0.0.1:" + std::to_string(proxy->port());
    dgfa.timeout = 800;  // a silent connection costs an attempt this long
    dgfa.retry_times = 5;
    dgfa.interval = 100;
    fghyds.retry_times = 0;
    // First attempts answer slowly, so that many are in flight when the network fails.
    endpoint.when_path("/dgfa/", test::answer::slow(300).first(1));
  }

  // all_done waits until every id is done for dgfa, read from Redis.
  bool all_done(const std::vector<std::uint64_t>& ids) {
    return test::wait_until(
        [&] {
          for (auto id : ids)
            if (redis_status(id, "dgfa") != "done") return false;
          return true;
        },
        30s);
  }
};

TEST_F(consumer_faults_test, connections_gone_silent_time_out_and_are_retried) {
  auto ids = post_many(200);
  ASSERT_EQ(ids.size(), 200u);
  ASSERT_TRUE(endpoint.wait_for_count(60, 10s));
  proxy->blackhole();  // every connection to the consumer open now goes silent
  EXPECT_TRUE(all_done(ids)) << dmq->log().substr(0, 3000);
  auto got = endpoint.ids_received("/dgfa/");
  for (auto id : ids) EXPECT_GE(got.count(id), 1u) << id;
  EXPECT_NE(dmq->log().find("failed (timeout), retry in"), std::string::npos)
      << "no attempt met a silent connection: the test proved nothing";
}

TEST_F(consumer_faults_test, reset_connections_are_retried) {
  auto ids = post_many(200);
  ASSERT_EQ(ids.size(), 200u);
  ASSERT_TRUE(endpoint.wait_for_count(60, 10s));
  proxy->reset();  // RST on every connection to the consumer open now
  EXPECT_TRUE(all_done(ids)) << dmq->log().substr(0, 3000);
  auto got = endpoint.ids_received("/dgfa/");
  for (auto id : ids) EXPECT_GE(got.count(id), 1u) << id;
  EXPECT_NE(dmq->log().find("attempt 1 failed (Connection reset by peer)"), std::string::npos)
      << "no attempt met a reset: the test proved nothing\n"
      << dmq->log().substr(0, 3000);
}

}  // namespace
}  // namespace dmq::e2e
