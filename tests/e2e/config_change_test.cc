// config_change_test: a configuration changed across a restart strands nothing silently:
// a command switched from ordered to unordered releases the messages waiting in its
// buckets, and a queue that no configured consumer serves any more is reported, with its
// size, in the log and in /metrics (issue 12, section 2).
#include <fstream>

#include "delivery_fixture.h"

namespace dmq::e2e {
namespace {

struct config_change_test : delivery_test {
  void configure() override { start_run = false; }

  // write writes a config dir for consumers, with the command ordered or not.
  std::string write(const std::vector<consumer_conf>& consumers, bool ordered, int http_port) {
    dirs.push_back(
        write_delivery_config(redis.port(), http_port, endpoint.port(), consumers, extra));
    if (ordered)
      std::ofstream(dirs.back() + "/commands/cmd-sds-create-order.yaml", std::ios::app)
          << "ordered: true\n";
    return dirs.back();
  }
};

TEST_F(config_change_test, ordered_to_unordered_releases_the_messages_waiting_in_buckets) {
  int p1 = test::free_port();
  std::vector<std::uint64_t> ids;
  {
    test::dmq_process client(write({dgfa}, true, p1), p1, "client");
    for (int i = 0; i < 4; ++i)
      ids.push_back(post(message("{\"n\":" + std::to_string(i) + "}", 0, i < 3 ? "b1" : "b2"), p1));
    EXPECT_EQ(client.stop(), 0);
  }
  // Only each bucket's head is in the queue; the rest wait in bucket b1.
  ASSERT_EQ(redis.cmd({"ZCARD", "dmq:{sds}:q:dgfa"}).integer, 2);

  int p2 = test::free_port();
  test::dmq_process run(write({dgfa}, false, p2), p2, "run");
  EXPECT_TRUE(endpoint.wait_for_distinct("/dgfa/", ids.size(), 10s))
      << "messages stranded in their buckets\n"
      << run.log();
  EXPECT_TRUE(test::wait_until(
      [&] { return run.log().find("released 2 messages of consumer 'dgfa'") != std::string::npos; },
      5s))
      << run.log();
  EXPECT_TRUE(redis.cmd({"KEYS", "dmq:{sds}:b:*"}).elements.empty());
}

TEST_F(config_change_test, a_queue_no_configured_consumer_serves_is_reported_with_its_size) {
  int p1 = test::free_port();
  {
    test::dmq_process client(write({dgfa, fghyds}, false, p1), p1, "client");
    post(message("{\"n\":1}", 60000), p1);
    post(message("{\"n\":2}", 60000), p1);
    EXPECT_EQ(client.stop(), 0);
  }
  int p2 = test::free_port();
  test::dmq_process run(write({dgfa}, false, p2), p2, "run");  // fghyds removed
  auto said = [&] {
    return run.log().find(
               "2 deliveries wait in the queue of consumer 'fghyds' of project "
               "'sds'") != std::string::npos;
  };
  EXPECT_TRUE(test::wait_until(said, 10s)) << run.log();
  auto metrics = test::call(p2, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("dmq_unserved_queue_messages{project=\"sds\",consumer=\"fghyds\"} 2"),
            std::string::npos)
      << metrics.substr(0, 2000);
  EXPECT_EQ(metrics.find("dmq_unserved_queue_messages{project=\"sds\",consumer=\"dgfa\"}"),
            std::string::npos);
  // dmq check --redis lists it too, without starting anything.
  auto text = check_redis(dirs.back()).text;
  EXPECT_NE(text.find("warning: queue sds/fghyds: 2 deliveries, but no configured command"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace dmq::e2e
