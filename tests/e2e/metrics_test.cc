// GET /metrics: Prometheus's text format on the API port (dmq client, dmq run) and, with
// dispatch.http_port, on dmq server's own port with its /healthz. Each test makes the
// traffic it then reads back: requests by path and status, saves by project, delivery
// attempts by result, lateness, and the queue counts read from Redis.
#include <cmath>

#include "delivery_fixture.h"

namespace dmq::e2e {
namespace {

// value returns the sample of series (name and labels exactly as written) in a metrics
// page, or NaN when it is not there.
double value(const std::string& page, const std::string& series) {
  auto at = page.find("\n" + series + " ");
  if (at == std::string::npos) return std::nan("");
  return std::stod(page.substr(at + series.size() + 2));
}

struct metrics_test : delivery_test {
  std::string metrics(int on = 0) {
    auto r = test::call(on ? on : port, "GET", "/metrics");
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers["content-type"].rfind("text/plain; version=0.0.4", 0), 0u)
        << r.headers["content-type"];
    return "\n" + r.body;
  }
};

TEST_F(metrics_test, api_requests_are_counted_by_path_and_status_and_saves_by_project) {
  post(message());
  json::array batch{message(), message(), json::object{{"project", "sds"}}};  // 1 refused
  auto b = test::call(port, "POST", "/api/message/batch", text(batch));
  ASSERT_EQ(b.code(), 0) << b.body;
  EXPECT_EQ(test::call(port, "GET", "/no/such/path").status, 404);
  EXPECT_EQ(test::call(port, "GET", "/api/message/single").status, 405);

  auto page = metrics();
  EXPECT_EQ(value(page, R"(dmq_http_requests_total{path="/api/message/single",status="200"})"), 1)
      << page;
  EXPECT_EQ(value(page, R"(dmq_http_requests_total{path="/api/message/single",status="405"})"), 1);
  EXPECT_EQ(value(page, R"(dmq_http_requests_total{path="/api/message/batch",status="200"})"), 1);
  EXPECT_EQ(value(page, R"(dmq_http_requests_total{path="other",status="404"})"), 1)
      << "unknown paths share one series";
  EXPECT_EQ(value(page, R"(dmq_http_request_duration_seconds_count{path="/api/message/single"})"),
            2);
  EXPECT_EQ(value(page, R"(dmq_messages_saved_total{project="sds"})"), 3);
  EXPECT_EQ(value(page, R"(dmq_messages_not_saved_total{project="sds"})"), 0);
  EXPECT_EQ(value(page, "dmq_redis_connected"), 1);
  EXPECT_GE(value(page, "dmq_http_connections"), 1);

  // The first /metrics is counted once it was answered.
  EXPECT_EQ(value(metrics(), R"(dmq_http_requests_total{path="/metrics",status="200"})"), 1);
}

struct metrics_delivery_test : metrics_test {
  void configure() override { dgfa.interval = 50; }
};

TEST_F(metrics_delivery_test, attempts_are_counted_by_result_and_first_attempts_by_lateness) {
  endpoint.when_path("/dgfa/", answer::fail_times(1));
  auto id = post(message());
  ASSERT_TRUE(wait_status(id, "dgfa", "done", 5s)) << describe(endpoint.requests());
  ASSERT_TRUE(wait_status(id, "fghyds", "done", 5s));

  auto page = metrics();
  EXPECT_EQ(value(page, R"(dmq_delivery_attempts_total{consumer="dgfa",result="retry"})"), 1)
      << page;
  EXPECT_EQ(value(page, R"(dmq_delivery_attempts_total{consumer="dgfa",result="done"})"), 1);
  EXPECT_EQ(value(page, R"(dmq_delivery_attempts_total{consumer="dgfa",result="failure"})"), 0);
  EXPECT_EQ(value(page, R"(dmq_delivery_attempts_total{consumer="fghyds",result="done"})"), 1);
  EXPECT_EQ(value(page, R"(dmq_delivery_duration_seconds_count{consumer="dgfa"})"), 2);
  EXPECT_EQ(value(page, R"(dmq_delivery_lateness_seconds_count{consumer="dgfa"})"), 1)
      << "only first attempts: a retry is late by design";
  // A message posted due now is sent within a second.
  EXPECT_EQ(value(page, R"(dmq_delivery_lateness_seconds_bucket{consumer="dgfa",le="1"})"), 1);
  EXPECT_EQ(value(page, R"(dmq_deliveries_in_flight{consumer="dgfa"})"), 0);
}

struct metrics_queue_test : metrics_test {
  void configure() override {
    dgfa.more["concurrency"] = "1";
    dgfa.timeout = 30000;
    fghyds.retry_times = 0;
    extra = "dispatch:\n  shutdown_timeout_ms: 100\n";  // do not wait for the slow answer
  }
};

TEST_F(metrics_queue_test, queue_counts_come_from_redis_when_scraped) {
  endpoint.when_path("/dgfa/", answer::slow(20000));         // one at a time, 20 s each
  endpoint.when_path("/fghyds/", answer::with_status(500));  // no retries: pending at once
  std::vector<std::uint64_t> due_now;
  for (int i = 0; i < 3; ++i) due_now.push_back(post(message()));
  for (int i = 0; i < 2; ++i) post(message(R"({"order_id":1})", 60000));
  for (auto id : due_now) ASSERT_TRUE(wait_status(id, "fghyds", "failure", 5s));
  ASSERT_TRUE(endpoint.wait_for_distinct("/dgfa/", 1, 5s));

  auto page = metrics();  // within the 20 s dgfa's first delivery takes
  EXPECT_EQ(value(page, R"(dmq_queue_messages{consumer="dgfa"})"), 5) << page;
  EXPECT_EQ(value(page, R"(dmq_queue_due_messages{consumer="dgfa"})"), 2)
      << "due and waiting: one of the three due is in flight, the other two in a minute";
  EXPECT_EQ(value(page, R"(dmq_deliveries_in_flight{consumer="dgfa"})"), 1);
  EXPECT_EQ(value(page, R"(dmq_queue_messages{consumer="fghyds"})"), 2);
  EXPECT_EQ(value(page, R"(dmq_queue_due_messages{consumer="fghyds"})"), 0);
  EXPECT_EQ(value(page, R"(dmq_pending_messages{consumer="fghyds"})"), 3);
  EXPECT_EQ(value(page, R"(dmq_delivery_attempts_total{consumer="fghyds",result="failure"})"), 3);
}

struct metrics_server_test : metrics_test {
  int status_port = test::free_port();
  void configure() override {
    start_run = false;
    extra = "dispatch:\n  http_port: " + std::to_string(status_port) + "\n";
  }
};

TEST_F(metrics_server_test, dmq_server_serves_healthz_and_metrics_on_dispatch_http_port) {
  auto& server = start("server");
  ASSERT_TRUE(test::wait_until(
      [&] {
        try {
          return test::call(status_port, "GET", "/healthz").status == 200;
        } catch (...) {
          return false;
        }
      },
      5s))
      << server.log();
  auto h = test::call(status_port, "GET", "/healthz");
  EXPECT_EQ(h.code(), 0) << h.body;
  EXPECT_EQ(h.data().at("redis"), "up");

  auto page = metrics(status_port);
  EXPECT_EQ(value(page, R"(dmq_queue_messages{consumer="dgfa"})"), 0) << page;
  EXPECT_EQ(value(page, R"(dmq_delivery_attempts_total{consumer="dgfa",result="done"})"), 0);
  EXPECT_EQ(value(page, "dmq_redis_connected"), 1);
  EXPECT_EQ(page.find("dmq_http_requests_total"), std::string::npos)
      << "dmq server has no API to count";
  EXPECT_EQ(test::call(status_port, "GET", "/api/message/single").status, 404);
  EXPECT_EQ(test::call(status_port, "POST", "/metrics").status, 405);
}

// metrics_locked_test: /metrics of dmq server's own port is for metrics.allow_ip (here
// not the tests' 127.0.0.1) and metrics.tokens only, as on the API's port (issue 13).
struct metrics_locked_test : metrics_test {
  int status_port = test::free_port();
  std::string token_file = "/tmp/dmq-metrics-token-" + std::to_string(::getpid());
  std::string token = "metrics-reader-token-0123456789";
  void configure() override {
    start_run = false;
    std::ofstream(token_file) << token << "\n";
    extra = "dispatch:\n  http_port: " + std::to_string(status_port) +
            "\nmetrics:\n  allow_ip: [127.0.0.9]\n  tokens: [file:" + token_file + "]\n";
  }
  void TearDown() override {
    metrics_test::TearDown();
    std::remove(token_file.c_str());
  }
};

TEST_F(metrics_locked_test, dmq_server_serves_metrics_only_to_its_readers) {
  auto& server = start("server");
  ASSERT_TRUE(test::wait_until(
      [&] {
        try {
          return test::call(status_port, "GET", "/healthz").status == 200;
        } catch (...) {
          return false;
        }
      },
      5s))
      << server.log();
  auto refused = test::call(status_port, "GET", "/metrics");
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(refused.code(), 103);
  EXPECT_EQ(refused.body.find("dmq_"), std::string::npos) << "no metric leaks";
  auto wrong = test::call(status_port, "GET", "/metrics", "",
                          {{"Authorization", "Bearer not-the-token-at-all"}});
  EXPECT_EQ(wrong.status, 403);
  auto read =
      test::call(status_port, "GET", "/metrics", "", {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(read.status, 200);
  EXPECT_NE(read.body.find("dmq_redis_connected 1"), std::string::npos) << read.body;
  EXPECT_EQ(server.log().find(token), std::string::npos) << "the token is never logged";
}

}  // namespace
}  // namespace dmq::e2e
