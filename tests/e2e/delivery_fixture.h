// delivery_fixture: what every delivery test starts with - a real redis-server, a scripted
// consumer (test::consumer_endpoint) on loopback, and a config whose command
// sds:create:order has the consumers dgfa and fghyds pointing at that consumer, each on its
// own path (/dgfa/createorder, /fghyds/createorder) so the test can tell them apart.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>

#include "fixture.h"
#include "support/consumer_endpoint.h"

namespace dmq::e2e {

using test::answer;
using test::consumer_request;

// The consumers' timeout unless a test sets its own: far above any answer a test scripts,
// so that a loaded machine never turns an answer into a timed-out attempt (and a retry).
constexpr int default_timeout_ms = 5000;

// consumer_conf: one entry of consumer_list.
struct consumer_conf {
  std::string name;
  std::string path;
  std::string host;  // host:port; empty: the fixture's consumer endpoint
  int timeout = default_timeout_ms;
  int retry_times = 3;
  int interval = 200;
  std::map<std::string, std::string> more;  // dmq's keys: concurrency, backoff, jitter, ...
};

// write_delivery_config writes a config dir serving the API on http_port, on the Redis at
// redis_port, with project sds and its command sds:create:order delivered to consumers at
// 127.0.0.1:consumer_port; extra is appended to config.yaml. Remove it with
// test::remove_config_dir.
inline std::string write_delivery_config(int redis_port, int http_port, int consumer_port,
                                         const std::vector<consumer_conf>& consumers,
                                         const std::string& extra = "") {
  namespace fs = std::filesystem;
  static std::atomic<int> n{0};
  auto dir = fs::temp_directory_path() /
             ("dmq-delivery-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  fs::create_directories(dir / "commands");
  std::ofstream(dir / "config.yaml") << "http_port: " << http_port << R"(
http:
  listen: 127.0.0.1
product_list:
  - project: sds
    allow_ip: [127.0.0.1]
msg_save_days: 4
request_trace_id_key: Request-Id
redis:
  host: 127.0.0.1
  port: )" << redis_port << R"(
  read_timeout: 1
  write_timeout: 1
log:
  level: info
command_list:
  - cmd-sds-create-order.yaml
)" << extra;
  std::ofstream cmd(dir / "commands" / "cmd-sds-create-order.yaml");
  cmd << "project: sds\ncommand: sds:create:order\nconsumer_list:\n";
  for (const auto& c : consumers) {
    cmd << "  - host: " << (c.host.empty() ? "127.0.0.1:" + std::to_string(consumer_port) : c.host)
        << "\n"
        << "    name: " << c.name << "\n"
        << "    path: \"" << c.path << "\"\n"
        << "    timeout: " << c.timeout << "\n"
        << "    retry_times: " << c.retry_times << "\n"
        << "    interval: " << c.interval << "\n";
    for (const auto& [k, v] : c.more) cmd << "    " << k << ": " << v << "\n";
  }
  return dir.string();
}

// gaps returns the times between the arrivals of consecutive requests.
inline std::vector<std::int64_t> gaps(const std::vector<consumer_request>& rs) {
  std::vector<std::int64_t> out;
  for (std::size_t i = 1; i < rs.size(); ++i)
    out.push_back(rs[i].arrived_ms - rs[i - 1].arrived_ms);
  return out;
}
// describe lists requests for a failure message.
inline std::string describe(const std::vector<consumer_request>& rs) {
  std::string s;
  for (const auto& r : rs)
    s += "  " + std::to_string(r.arrived_ms) + " " + r.method + " " + r.target + " -> " +
         std::to_string(r.status) + "\n";
  return s;
}

// How late a delivery may arrive after it was due. Never early is exact; lateness is what
// the machine adds (a wake-up, a Redis round trip, a connection): up to about 100 ms on a
// loaded 2-core machine. Every schedule a test checks differs from the nearest wrong one
// (exponential for linear, uncapped for capped, ...) by more than this.
constexpr std::int64_t late_slack_ms = 250;

// expect_gaps checks the times between attempts: never early (but for early ms of clock
// rounding), at most slack ms late.
inline void expect_gaps(const std::vector<consumer_request>& rs,
                        const std::vector<std::int64_t>& want, std::int64_t slack = late_slack_ms,
                        std::int64_t early = 2) {
  auto got = gaps(rs);
  ASSERT_EQ(got.size(), want.size()) << describe(rs);
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_GE(got[i], want[i] - early) << "retry " << i + 1 << " came early\n" << describe(rs);
    EXPECT_LE(got[i], want[i] + slack) << "retry " << i + 1 << " came late\n" << describe(rs);
  }
}

// expect_attempts checks retry=0.. and X-Dmq-Attempt 1.. in order.
inline void expect_attempts(const std::vector<consumer_request>& rs) {
  for (std::size_t i = 0; i < rs.size(); ++i) {
    EXPECT_EQ(rs[i].retry, static_cast<int>(i)) << describe(rs);
    EXPECT_EQ(rs[i].header("X-Dmq-Attempt"), std::to_string(i + 1));
  }
}

// set_shards gives project k shards (product_list[].shards) in dir's config.yaml.
inline void set_shards(const std::string& dir, const std::string& project, int k) {
  auto path = dir + "/config.yaml";
  std::ifstream in(path);
  std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string entry = "  - project: " + project + "\n";
  auto at = yaml.find(entry);
  EXPECT_NE(at, std::string::npos) << yaml;
  if (at == std::string::npos) return;
  yaml.insert(at + entry.size(), "    shards: " + std::to_string(k) + "\n");
  std::ofstream(path) << yaml;
}

// delivery_test: per test a redis-server, a consumer endpoint and (unless start_run is
// false) a `dmq run` delivering to it. Subclasses adjust dgfa, fghyds and extra in
// configure(), before the config is written.
class delivery_test : public ::testing::Test {
 protected:
  void SetUp() override {
    configure();
    dir = config_dir(port);
    if (start_run) dmq = start_dmq(dir, port, "run");
  }

  void TearDown() override {
    if (dmq && expect_alive) {
      EXPECT_TRUE(dmq->running()) << "dmq died (exit " << dmq->wait_exit(0) << "); its log:\n"
                                  << dmq->log();
    }
    dmq.reset();
    processes.clear();
    endpoint.stop();
    for (const auto& d : dirs) test::remove_config_dir(d);
  }

  virtual void configure() {}

  // config_dir writes another config dir (for one more process) serving on http_port.
  virtual std::string config_dir(int http_port) {
    dirs.push_back(
        write_delivery_config(redis.port(), http_port, endpoint.port(), {dgfa, fghyds}, extra));
    return dirs.back();
  }

  // start starts `dmq sub` on a config dir of its own; for "server" (no HTTP API) it waits
  // until the dispatcher has started, by its log.
  test::dmq_process& start(const std::string& sub) {
    int p = test::free_port();
    auto d = config_dir(p);
    if (sub == "server") {
      processes.push_back(std::make_unique<test::dmq_process>(d, p, sub, false));
      auto& proc = *processes.back();
      EXPECT_TRUE(test::wait_until(
          [&] { return proc.log().find("dispatcher:") != std::string::npos || !proc.running(); },
          10s))
          << proc.log();
      EXPECT_TRUE(proc.running()) << proc.log();
      return proc;
    }
    processes.push_back(start_dmq(d, p, sub));
    return *processes.back();
  }

  // A message of sds:create:order.
  static json::object message(const std::string& params = R"({"order_id":1})",
                              std::int64_t delay_ms = 0, const std::string& bucket = "b") {
    json::object m{
        {"project", "sds"}, {"cmd", "sds:create:order"}, {"bucket", bucket}, {"params", params}};
    if (delay_ms > 0) m["delay_ms"] = delay_ms;
    return m;
  }

  // post saves m through the API on api_port and returns its id (0 and a failure if not).
  std::uint64_t post(const json::object& m, int api_port = 0) const {
    auto r = test::call(api_port ? api_port : port, "POST", "/api/message/single", text(m));
    EXPECT_EQ(r.code(), 0) << r.body;
    return r.code() == 0 ? id_of(r) : 0;
  }
  // post_many saves n messages (params {"n":i}) in batches of at most 500; returns the ids.
  std::vector<std::uint64_t> post_many(int n, int api_port = 0) const {
    std::vector<std::uint64_t> ids;
    for (int from = 0; from < n; from += 500) {
      json::array batch;
      for (int i = from; i < std::min(n, from + 500); ++i)
        batch.push_back(message("{\"n\":" + std::to_string(i) + "}"));
      auto r = test::call(api_port ? api_port : port, "POST", "/api/message/batch", text(batch));
      EXPECT_EQ(r.code(), 0) << r.body;
      if (r.code() != 0) break;
      auto data = r.data();
      for (const auto& v : data.as_array()) {
        EXPECT_TRUE(v.is_int64()) << r.body.substr(0, 300);
        if (v.is_int64()) ids.push_back(static_cast<std::uint64_t>(v.get_int64()));
      }
    }
    return ids;
  }

  // status reads a delivery's status through the API ("unknown" if none).
  std::string status(std::uint64_t id, const std::string& consumer) const {
    auto r = test::call(
        port, "GET", "/api/message/status?msg_id=" + std::to_string(id) + "&consumer=" + consumer);
    return r.code() == 0 && r.data().is_string() ? std::string(r.data().as_string()) : r.body;
  }
  // wait_status waits (bounded) until the status of id for consumer is want.
  bool wait_status(std::uint64_t id, const std::string& consumer, const std::string& want,
                   std::chrono::milliseconds bound = 5s) const {
    return test::wait_until([&] { return status(id, consumer) == want; }, bound);
  }
  // redis_status reads it straight from Redis (the message's record, storage/record.h);
  // "<consumer>#n" reads the attempts instead.
  std::string redis_status(std::uint64_t id, const std::string& consumer) const {
    return record_field(redis, "dmq:{sds}:m:" + std::to_string(id), consumer);
  }
  json::value pending(const std::string& consumer) const {
    return test::call(port, "GET", "/api/message/pending?consumer=" + consumer).data();
  }
  // in_pending says whether id is in the consumer's pending list.
  bool in_pending(std::uint64_t id, const std::string& consumer) const {
    auto p = pending(consumer);
    if (!p.is_object()) return false;
    for (const auto& e : p.at("list").as_array())
      if (e.at("Member") == json::value(std::to_string(id))) return true;
    return false;
  }

  test::redis_server redis;
  test::consumer_endpoint endpoint;
  consumer_conf dgfa{"dgfa", "/dgfa/createorder", "", default_timeout_ms, 3, 200, {}};
  consumer_conf fghyds{"fghyds", "/fghyds/createorder", "", default_timeout_ms, 3, 200, {}};
  std::string extra;      // appended to config.yaml
  bool start_run = true;  // SetUp starts `dmq run`
  bool expect_alive = true;
  int port = test::free_port();
  std::string dir;
  std::vector<std::string> dirs;
  std::unique_ptr<test::dmq_process> dmq;
  std::vector<std::unique_ptr<test::dmq_process>> processes;
};

}  // namespace dmq::e2e
