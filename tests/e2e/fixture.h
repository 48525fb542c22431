// fixture: what every end-to-end test starts with - a real redis-server, a config dir and
// the built `dmq client` on free loopback ports - and small helpers that read like the API.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "storage/record.h"
#include "support/dmq_process.h"
#include "support/http_client.h"
#include "support/ports.h"
#include "support/redis_server.h"

namespace dmq::e2e {

// record_field reads one field of the message record at key (storage/record.h) as if it
// were a hash: cmd, due, ct, bucket, rid, params, a consumer's name (its status) or
// "<consumer>#n" (its attempts); "<nil>" when there is no such record or field.
inline std::string record_field(const test::redis_server& redis, const std::string& key,
                                const std::string& field) {
  auto r = redis.cmd({"GET", key});
  if (r.is_nil()) return "<nil>";
  auto rec = storage::decode_record(r.str);
  if (!rec) return "<not a record>";
  const auto& m = rec->msg;
  if (field == "cmd") return m.cmd;
  if (field == "due") return std::to_string(m.due_ms);
  if (field == "ct") return std::to_string(m.create_ms);
  if (field == "bucket") return m.bucket;
  if (field == "rid") return m.request_id;
  if (field == "params") return m.params;
  auto hash = field.find('#');
  if (const auto* c = rec->status(field.substr(0, hash)))
    return hash == std::string::npos ? c->status : std::to_string(c->attempts);
  return "<nil>";
}

namespace json = boost::json;
using test::header_list;
using test::http_reply;
using namespace std::chrono_literals;

constexpr std::uint64_t two_pow_53 = std::uint64_t{1} << 53;

// order returns a valid message of project sds (cmd sds:create:order) to adjust and send.
inline json::object order(std::string bucket = "order-1") {
  return {{"project", "sds"},
          {"cmd", "sds:create:order"},
          {"bucket", std::move(bucket)},
          {"params", R"({"order_id":1})"},
          {"request_id", "rid-1"}};
}

// notice returns a valid message of project svs (cmd svs:notice:user, consumer wet234).
inline json::object notice(std::string bucket = "user-1") {
  return {{"project", "svs"}, {"cmd", "svs:notice:user"}, {"bucket", std::move(bucket)}};
}

inline std::string text(const json::value& v) {
  return json::serialize(v);
}

// now_s and now_ms read the wall clock, as dmq stamps messages with it.
inline std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
inline std::int64_t now_s() {
  return now_ms() / 1000;
}

// check_output: `dmq check --redis DIR`'s exit code and output.
struct check_output {
  int exit_code = -1;
  std::string text;
};
inline check_output check_redis(const std::string& dir) {
  check_output out;
  auto cmd = std::string("timeout 20 ") + DMQ_BINARY + " check --redis " + dir + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.text.append(buf, n);
  int status = ::pclose(p);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

// id_of returns the id a successful single POST answered, failing the test otherwise.
inline std::uint64_t id_of(const http_reply& r) {
  auto d = r.data();
  EXPECT_TRUE(d.is_int64() || d.is_uint64()) << r.body;
  if (d.is_int64()) return static_cast<std::uint64_t>(d.get_int64());
  if (d.is_uint64()) return d.get_uint64();
  return 0;
}

// node_of returns the id-generator node encoded in an id (bits 7..11, docs/storage.md).
inline int node_of(std::uint64_t id) {
  return static_cast<int>((id >> 7) & 31);
}

// replace_once replaces the first from in s by to; false if from is not there.
inline bool replace_once(std::string& s, const std::string& from, const std::string& to) {
  auto at = s.find(from);
  if (at == std::string::npos) return false;
  s.replace(at, from.size(), to);
  return true;
}

// ready_for_messages says whether the dmq on port answers /healthz 200 and holds an id node.
// (/healthz answers 200 before the node is leased: see ids_test, no_id_node_*.)
inline bool ready_for_messages(int port) {
  try {
    auto r = test::call(port, "GET", "/healthz");
    return r.status == 200 && r.data().at("id_node").to_number<int>() >= 0;
  } catch (...) {
    return false;
  }
}

// start_dmq starts `dmq sub dir` serving on port and waits until it can take messages.
inline std::unique_ptr<test::dmq_process> start_dmq(const std::string& dir, int port,
                                                    const std::string& sub = "client") {
  auto p = std::make_unique<test::dmq_process>(dir, port, sub);
  EXPECT_TRUE(test::wait_until([&] { return ready_for_messages(port); }, 5s)) << p->log();
  return p;
}

// dmq_test: per test, a redis-server, a config dir and a `dmq client`. Subclasses change the
// configuration by overriding extra_yaml (appended to config.yaml), http_yaml (lines added
// under its http: section) or edit_config (any change to config.yaml's text).
class dmq_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = test::make_config_dir(redis.port(), port, extra_yaml());
    std::string yaml = read_config();
    if (!http_yaml().empty()) {
      ASSERT_TRUE(replace_once(yaml, "http:\n  listen: 127.0.0.1\n",
                               "http:\n  listen: 127.0.0.1\n" + http_yaml()));
    }
    edit_config(yaml);
    if (HasFatalFailure()) return;
    write_config(yaml);
    dmq = start_dmq(dir, port);
  }

  void TearDown() override {
    if (dmq && expect_alive) {
      EXPECT_TRUE(dmq->running()) << "dmq died; its log:\n" << dmq->log();
      if (dmq->running()) {
        EXPECT_EQ(healthz().status, 200) << dmq->log();
      }
    }
    dmq.reset();
    test::remove_config_dir(dir);
  }

  virtual std::string extra_yaml() const { return ""; }
  virtual std::string http_yaml() const { return ""; }
  virtual void edit_config(std::string& /*yaml*/) const {}

  std::string read_config() const;
  void write_config(const std::string& yaml) const;

  // The API, one request per new connection.
  http_reply post_single(const std::string& body, const header_list& h = {}) const {
    return test::call(port, "POST", "/api/message/single", body, h);
  }
  http_reply post_single(const json::object& m, const header_list& h = {}) const {
    return post_single(text(m), h);
  }
  http_reply post_batch(const std::string& body) const {
    return test::call(port, "POST", "/api/message/batch", body);
  }
  http_reply post_batch(const json::array& a) const { return post_batch(text(a)); }
  http_reply get(const std::string& target) const { return test::call(port, "GET", target); }
  http_reply status(std::uint64_t id, const std::string& consumer) const {
    return get("/api/message/status?msg_id=" + std::to_string(id) + "&consumer=" + consumer);
  }
  http_reply detail(std::uint64_t id, const std::string& consumer) const {
    return get("/api/message/detail?msg_id=" + std::to_string(id) + "&consumer=" + consumer);
  }
  http_reply healthz() const { return get("/healthz"); }
  bool healthy() const {
    try {
      return healthz().status == 200;
    } catch (...) {
      return false;
    }
  }

  // saved posts m and returns its id, failing the test if it was not saved.
  std::uint64_t saved(const json::object& m) const {
    auto r = post_single(m);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.code(), 0) << r.body;
    return id_of(r);
  }

  // Redis, as dmq left it (docs/storage.md: keys are dmq:{project}:...).
  static std::string msg_key(std::uint64_t id, const std::string& p = "sds") {
    return "dmq:{" + p + "}:m:" + std::to_string(id);
  }
  // status_key: the statuses live in the message's record too (storage/record.h).
  static std::string status_key(std::uint64_t id, const std::string& p = "sds") {
    return msg_key(id, p);
  }
  static std::string pending_key(const std::string& consumer, const std::string& p = "sds") {
    return "dmq:{" + p + "}:pending:" + consumer;
  }
  static std::string queue_key(const std::string& consumer, const std::string& p = "sds") {
    return "dmq:{" + p + "}:q:" + consumer;
  }
  // queue_score returns when the delivery of id to consumer is due (ms), "" if not queued.
  std::string queue_score(std::uint64_t id, const std::string& consumer,
                          const std::string& p = "sds") const {
    return redis.cmd({"ZSCORE", queue_key(consumer, p), std::to_string(id)}).str;
  }
  // hget reads one field of the message record at key (record_field).
  std::string hget(const std::string& key, const std::string& field) const {
    return record_field(redis, key, field);
  }
  // set_status overwrites a consumer's status in the record of message id, as dmq would.
  void set_status(std::uint64_t id, const std::string& consumer, const std::string& status,
                  const std::string& p = "sds") const {
    auto key = msg_key(id, p);
    auto rec = storage::decode_record(redis.cmd({"GET", key}).str);
    ASSERT_TRUE(rec) << key;
    for (auto& c : rec->consumers)
      if (c.name == consumer) c.status = status;
    redis.cmd({"SET", key, storage::encode(*rec), "KEEPTTL"});
  }
  // all_keys lists every key in the Redis, by SCAN.
  std::set<std::string> all_keys() const;
  // message_keys lists the keys of stored messages (dmq:{p}:m:*) of every project.
  std::set<std::string> message_keys() const;

  test::redis_server redis;
  int port = test::free_port();
  std::string dir;
  std::unique_ptr<test::dmq_process> dmq;
  bool expect_alive = true;  // TearDown checks that dmq still runs and /healthz answers 200
};

inline std::string dmq_test::read_config() const {
  std::ifstream in(dir + "/config.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void dmq_test::write_config(const std::string& yaml) const {
  std::ofstream(dir + "/config.yaml", std::ios::trunc) << yaml;
}

inline std::set<std::string> dmq_test::all_keys() const {
  std::set<std::string> out;
  std::string cursor = "0";
  for (int round = 0; round < 10000; ++round) {
    auto r = redis.cmd({"SCAN", cursor, "COUNT", "1000"});
    if (!r.is_array() || r.elements.size() != 2) {
      ADD_FAILURE() << "SCAN failed: " << r.str;
      break;
    }
    for (const auto& k : r.elements[1].elements) out.insert(k.str);
    cursor = r.elements[0].str;
    if (cursor == "0") break;
  }
  return out;
}

inline std::set<std::string> dmq_test::message_keys() const {
  std::set<std::string> out;
  for (const auto& k : all_keys())
    if (k.find("}:m:") != std::string::npos) out.insert(k);
  return out;
}

}  // namespace dmq::e2e
