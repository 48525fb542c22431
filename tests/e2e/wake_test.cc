// wake_test: a dispatcher whose wake-up connection died silently (no FIN, no RST: a
// blackholing proxy between dmq and Redis) notices by its heartbeat PING, reconnects and
// delivers a message saved meanwhile by another process, instead of sleeping until its
// next look at the queue (dispatch.max_idle_ms, set to a minute here).
#include "delivery_fixture.h"
#include "support/fault_proxy.h"

namespace dmq::e2e {
namespace {

struct wake_test : delivery_test {
  void configure() override {
    start_run = false;
    extra = "dispatch:\n  max_idle_ms: 60000\n";
  }
};

TEST_F(wake_test, a_silently_dead_subscriber_is_noticed_and_wake_ups_arrive_again) {
  test::fault_proxy proxy(redis.port());
  int run_port = test::free_port();
  dirs.push_back(write_delivery_config(proxy.port(), run_port, endpoint.port(), {dgfa}, extra));
  test::dmq_process run(dirs.back(), run_port, "run");
  // The dispatcher is subscribed and idle: a first message arrives at once.
  post(message("{\"n\":1}"), run_port);
  ASSERT_TRUE(endpoint.wait_for_count(1, 10s)) << run.log();

  // Wait until the dispatcher is idle: the ack is in, and its next claim came back empty
  // (no script call reaches Redis for a few polls in a row).
  auto script_calls = [&] {
    auto info = redis.cmd({"INFO", "commandstats"}).str;
    auto at = info.find("cmdstat_evalsha:calls=");
    return at == std::string::npos ? 0LL : std::stoll(info.substr(at + 22));
  };
  long long last = -1;
  int quiet = 0;
  ASSERT_TRUE(test::wait_until(
      [&] {
        auto now = script_calls();
        quiet = now == last ? quiet + 1 : 0;
        last = now;
        return quiet >= 5 && redis.cmd({"ZCARD", "dmq:{sds}:q:dgfa"}).integer == 0;
      },
      10s));
  proxy.blackhole();                 // every connection of `dmq run` to Redis goes silent
  auto& producer = start("client");  // saves straight into Redis, and PUBLISHes the wake-up
  auto t0 = now_ms();
  post(message("{\"n\":2}"), producer.port());
  EXPECT_TRUE(endpoint.wait_for_count(2, 15s))
      << "not delivered: the dead subscriber was not noticed\n"
      << run.log();
  auto took = now_ms() - t0;
  EXPECT_LT(took, 10000) << "delivered only by the next look at the queue";
  std::cout << "[ wake ] delivered " << took << " ms after a save behind a dead subscriber\n";
  EXPECT_NE(run.log().find("redis-wake: no reply"), std::string::npos) << run.log();
}

}  // namespace
}  // namespace dmq::e2e
