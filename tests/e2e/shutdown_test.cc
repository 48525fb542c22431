// shutdown_test: SIGTERM and SIGINT stop `dmq client` with exit code 0, closing idle
// connections at once and letting a request in flight finish with its answer.
#include <csignal>
#include <thread>

#include "fixture.h"

namespace dmq::e2e {
namespace {

struct shutdown_test : dmq_test {
  shutdown_test() { expect_alive = false; }
};

TEST_F(shutdown_test, sigterm_exits_0) {
  saved(order());
  EXPECT_EQ(dmq->stop(), 0) << dmq->log();
}

TEST_F(shutdown_test, sigint_exits_0) {
  dmq->signal(SIGINT);
  EXPECT_EQ(dmq->wait_exit(5000), 0) << dmq->log();
}

TEST_F(shutdown_test, idle_keep_alive_connections_do_not_hold_it_up) {
  test::http_client idle(port);
  ASSERT_EQ(idle.request("GET", "/healthz").status, 200);
  auto t0 = std::chrono::steady_clock::now();
  dmq->signal(SIGTERM);
  EXPECT_TRUE(idle.closed(3s));
  EXPECT_EQ(dmq->wait_exit(3000), 0) << dmq->log();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST_F(shutdown_test, a_connection_that_never_sent_a_request_does_not_hold_it_up) {
  test::http_client silent(port);
  // The server has accepted once a request on another connection is answered.
  ASSERT_TRUE(healthy());
  dmq->signal(SIGTERM);
  EXPECT_EQ(dmq->wait_exit(3000), 0) << dmq->log();
}

TEST_F(shutdown_test, a_request_in_flight_gets_its_answer) {
  redis.pause();  // the POST now waits on Redis for up to redis.read_timeout (1 s)
  test::http_client busy(port);
  busy.send_raw("POST /api/message/single HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                std::to_string(text(order()).size()) + "\r\n\r\n" + text(order()));
  // The server reads in arrival order: once a later connection is answered, the POST is in.
  ASSERT_EQ(healthz().status, 200);
  dmq->signal(SIGTERM);
  auto r = busy.read_reply(5s);
  ASSERT_TRUE(r) << "the request in flight got no answer; log:\n" << dmq->log();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->code(), 106) << r->body;  // Redis was frozen: not saved, and said so
  EXPECT_EQ(r->headers["connection"], "close");
  EXPECT_TRUE(busy.closed(2s));
  EXPECT_EQ(dmq->wait_exit(5000), 0) << dmq->log();
  redis.resume();
}

TEST_F(shutdown_test, the_port_is_free_after_exit) {
  EXPECT_EQ(dmq->stop(), 0);
  dmq = start_dmq(dir, port);  // same port again
  EXPECT_TRUE(healthy());
  EXPECT_EQ(dmq->stop(), 0);
}

}  // namespace
}  // namespace dmq::e2e
