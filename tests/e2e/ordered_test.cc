// ordered_test: a command with `ordered: true` delivers each bucket's messages one at a
// time, in (due time, id) order, per consumer, while buckets proceed side by side.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "support/consumer_endpoint.h"
#include "support/dmq_process.h"
#include "support/http_client.h"
#include "support/ports.h"
#include "support/redis_server.h"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using dmq::test::consumer_request;

namespace {

struct ordered_test : ::testing::Test {
  dmq::test::redis_server redis;
  dmq::test::consumer_endpoint endpoint;
  int http_port = dmq::test::free_port();
  fs::path dir = fs::temp_directory_path() /
                 ("dmq-ordered-" + std::to_string(::getpid()) + "-" + std::to_string(http_port));

  ordered_test() {
    fs::create_directories(dir / "commands");
    std::ofstream(dir / "config.yaml") << "http_port: " << http_port << R"(
http: {listen: 127.0.0.1}
product_list:
  - project: sds
    allow_ip: [127.0.0.1]
redis: {host: 127.0.0.1, port: )" << redis.port()
                                       << R"(}
command_list: [cmd.yaml]
)";
    std::ofstream(dir / "commands" / "cmd.yaml") << R"(project: sds
command: sds:create:order
ordered: true
consumer_list:
  - {host: 127.0.0.1:)" << endpoint.port() << R"(, name: dgfa, path: /dgfa, timeout: 2000,
     retry_times: 2, interval: 50, concurrency: 8}
  - {host: 127.0.0.1:)" << endpoint.port() << R"(, name: fghyds, path: /fghyds, timeout: 2000,
     retry_times: 2, interval: 50, concurrency: 8}
)";
  }
  ~ordered_test() override {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

// bucket_of and index_of read params "b<k>-<i>".
std::string bucket_of(const consumer_request& r) {
  return r.body.substr(0, r.body.find('-'));
}
int index_of(const consumer_request& r) {
  return std::stoi(r.body.substr(r.body.find('-') + 1));
}

}  // namespace

TEST_F(ordered_test, each_bucket_is_delivered_one_at_a_time_in_order_per_consumer) {
  endpoint.set_default(dmq::test::answer::slow(15));
  endpoint.when_body("b2-3", dmq::test::answer::fail_times(1));  // one retry inside a bucket
  dmq::test::dmq_process dmq(dir.string(), http_port, "run");

  const int buckets = 4, per_bucket = 12;
  json::array batch;
  for (int i = 0; i < per_bucket; ++i)  // interleaved, so order is not just arrival order
    for (int k = 0; k < buckets; ++k)
      batch.push_back(json::object{{"project", "sds"},
                                   {"cmd", "sds:create:order"},
                                   {"bucket", "b" + std::to_string(k)},
                                   {"params", "b" + std::to_string(k) + "-" + std::to_string(i)}});
  auto r = dmq::test::call(http_port, "POST", "/api/message/batch", json::serialize(batch));
  ASSERT_EQ(r.code(), 0) << r.body;

  const auto total = static_cast<std::size_t>(buckets * per_bucket);
  ASSERT_TRUE(endpoint.wait_for_distinct("/dgfa", total, 30s)) << dmq.log();
  ASSERT_TRUE(endpoint.wait_for_distinct("/fghyds", total, 30s)) << dmq.log();
  ASSERT_TRUE(endpoint.wait_until(
      [](const auto& rs) {
        for (const auto& x : rs)
          if (x.answered_ms == 0) return false;
        return true;
      },
      10s));

  for (std::string consumer : {"/dgfa", "/fghyds"}) {
    auto rs = endpoint.requests(consumer);
    int overlapping = 0;  // requests of different buckets in flight together
    for (std::size_t a = 0; a < rs.size(); ++a)
      for (std::size_t b = a + 1; b < rs.size(); ++b)
        if (rs[b].arrived_ms < rs[a].answered_ms && bucket_of(rs[a]) != bucket_of(rs[b]))
          ++overlapping;
    EXPECT_GT(overlapping, 0) << consumer << ": buckets should proceed side by side";
    for (int k = 0; k < buckets; ++k) {
      std::vector<consumer_request> mine;
      for (const auto& x : rs)
        if (bucket_of(x) == "b" + std::to_string(k)) mine.push_back(x);
      int expect = 0;
      for (std::size_t j = 0; j < mine.size(); ++j) {
        // One at a time: each request starts after the previous one of its bucket was answered.
        if (j > 0) {
          EXPECT_GE(mine[j].arrived_ms, mine[j - 1].answered_ms) << consumer << " b" << k;
        }
        // In order: a message's attempts, then the next message.
        if (mine[j].status == 200) {
          EXPECT_EQ(index_of(mine[j]), expect) << consumer << " b" << k;
          ++expect;
        } else {
          EXPECT_EQ(index_of(mine[j]), expect) << "a failed attempt is retried before the next";
        }
      }
      EXPECT_EQ(expect, per_bucket) << consumer << " b" << k;
    }
  }
}
