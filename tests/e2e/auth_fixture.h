// auth_fixture: what the tests of "who may call what" start with (docs/security.md) - a
// real redis-server, a scripted consumer, and `dmq run` on a config with four projects
// whose credentials differ, callers told apart by their bearer token and by the loopback
// address they connect from (all of 127.0.0.0/8 is loopback on Linux):
//   pa  tokens: [env:DMQ_E2E_TOKEN_A]        (the token given through the environment)
//   pb  tokens: [file:pb.token]              (the token in a file beside config.yaml)
//   pc  allow_ip: [127.0.0.1]                (the seed's rule: addresses alone)
//   pd  tokens: [sha256:...], allow_ip: [127.0.0.5]   (both)
//   admin.tokens: [file:admin.token]
// Each project has one command <p>:do with one consumer c<x> (ca, cb, cc, cd), one attempt
// (retry_times 0), delivered to the scripted consumer at /c<x>/.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fixture.h"
#include "support/consumer_endpoint.h"
#include "util/crypto.h"

namespace dmq::e2e {

inline constexpr const char* token_a = "tok-A-8f3e2d1c0b9a8f7e6d5c";
inline constexpr const char* token_b = "tok-B-1a2b3c4d5e6f7a8b9c0d";
inline constexpr const char* token_d = "tok-D-0d9c8b7a6f5e4d3c2b1a";
inline constexpr const char* token_admin = "tok-ADMIN-77aa66bb55cc44dd";
inline constexpr const char* token_wrong = "tok-WRONG-0000111122223333";

// caller: who a test request comes from: the loopback address it connects from and the
// bearer token it sends (none if empty).
struct caller {
  std::string source = "127.0.0.1";
  std::string token;
};

inline const caller owner_a{"127.0.0.1", token_a};
inline const caller owner_b{"127.0.0.1", token_b};
inline const caller admin{"127.0.0.1", token_admin};
inline const caller wrong_token{"127.0.0.1", token_wrong};
inline const caller stranger{"127.0.0.2", ""};  // no address any project allows, no token
inline const caller loopback{"127.0.0.1", ""};  // pc's address, no token

// sha256_line returns the sha256: entry of token, as `dmq token` prints it.
inline std::string sha256_line(const std::string& token) {
  return "sha256:" + util::to_hex(util::as_view(util::sha256(token)));
}

class auth_test : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("DMQ_E2E_TOKEN_A", token_a, 1);  // dmq, a child, inherits it
    dir = write_config();
    dmq = std::make_unique<test::dmq_process>(dir, port, "run");
    ASSERT_TRUE(test::wait_until([&] { return ready_for_messages(port); }, 10s)) << dmq->log();
  }

  void TearDown() override {
    if (dmq) {
      EXPECT_TRUE(dmq->running()) << "dmq died; its log:\n" << dmq->log();
    }
    dmq.reset();
    test::remove_config_dir(dir);
    ::unsetenv("DMQ_E2E_TOKEN_A");
  }

  // product_list returns config.yaml's product_list (and anything else to add).
  virtual std::string product_list() const {
    return "product_list:\n"
           "  - project: pa\n"
           "    tokens: [env:DMQ_E2E_TOKEN_A]\n"
           "  - project: pb\n"
           "    tokens: [file:pb.token]\n"
           "  - project: pc\n"
           "    allow_ip: [127.0.0.1]\n"
           "  - project: pd\n"
           "    tokens: [\"" +
           sha256_line(token_d) +
           "\"]\n"
           "    allow_ip: [127.0.0.5]\n"
           "admin:\n"
           "  tokens: [file:admin.token]\n";
  }
  virtual std::string extra_yaml() const { return ""; }

  std::string write_config() const {
    namespace fs = std::filesystem;
    static std::atomic<int> n{0};
    auto d = fs::temp_directory_path() /
             ("dmq-auth-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::create_directories(d / "commands");
    std::ofstream(d / "pb.token") << token_b << "\n";
    std::ofstream(d / "admin.token") << token_admin << "\n";
    std::ofstream(d / "config.yaml")
        << "http_port: " << port << "\nhttp:\n  listen: 127.0.0.1\n"
        << product_list() << "redis:\n  host: 127.0.0.1\n  port: " << redis.port()
        << "\n  read_timeout: 1\n  write_timeout: 1\n"
           "log:\n  level: debug\n"
           "command_list: [a.yaml, b.yaml, c.yaml, d.yaml]\n"
        << extra_yaml();
    for (const char* p : {"a", "b", "c", "d"}) {
      std::ofstream(d / "commands" / (std::string(p) + ".yaml"))
          << "project: p" << p << "\ncommand: p" << p << ":do\nconsumer_list:\n"
          << "  - host: 127.0.0.1:" << endpoint.port() << "\n    name: c" << p << "\n    path: /c"
          << p << "/do\n    timeout: 5000\n    retry_times: 0\n"
          << "    interval: 100\n";
    }
    return d.string();
  }

  // call makes one request as c, on a new connection.
  http_reply call(const caller& c, const std::string& method, const std::string& target,
                  const std::string& body = "", test::header_list headers = {}) const {
    if (!c.token.empty()) headers.emplace_back("Authorization", "Bearer " + c.token);
    return test::call_from(c.source, port, method, target, body, headers);
  }
  http_reply post(const caller& c, const std::string& path, const json::value& body) const {
    return call(c, "POST", path, text(body));
  }

  // message returns a message of project p ("a".."d") with params.
  static json::object message(const std::string& p, const std::string& params,
                              std::int64_t delay_ms = 0) {
    json::object m{
        {"project", "p" + p}, {"cmd", "p" + p + ":do"}, {"bucket", "b-" + p}, {"params", params}};
    if (delay_ms > 0) m["delay_ms"] = delay_ms;
    return m;
  }

  // send posts m as c and returns its id, failing the test if it was not saved.
  std::uint64_t send(const caller& c, const json::object& m) const {
    auto r = post(c, "/api/message/single", m);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.code(), 0) << r.body;
    return r.code() == 0 ? id_of(r) : 0;
  }

  static std::string q(std::uint64_t id, const std::string& consumer) {
    return "?msg_id=" + std::to_string(id) + "&consumer=" + consumer;
  }
  http_reply status(const caller& c, std::uint64_t id, const std::string& consumer) const {
    return call(c, "GET", "/api/message/status" + q(id, consumer));
  }
  http_reply detail(const caller& c, std::uint64_t id, const std::string& consumer) const {
    return call(c, "GET", "/api/message/detail" + q(id, consumer));
  }
  http_reply pending(const caller& c, const std::string& consumer) const {
    return call(c, "GET", "/api/message/pending?consumer=" + consumer);
  }
  http_reply solved(const caller& c, const std::string& consumer, std::uint64_t id) const {
    return post(c, "/api/message/solved",
                json::object{{"consumer", consumer}, {"msg_ids", json::array{id}}});
  }
  http_reply retry(const caller& c, const std::string& consumer, std::uint64_t id) const {
    return post(c, "/api/message/retry",
                json::object{{"consumer", consumer}, {"msg_ids", json::array{id}}});
  }
  http_reply cancel(const caller& c, std::uint64_t id, const std::string& project = "") const {
    json::object b{{"msg_id", id}};
    if (!project.empty()) b["project"] = project;
    return post(c, "/api/message/cancel", b);
  }

  // status_in_redis reads a delivery's status from the record dmq stored in Redis
  // ("<nil>" if there is no such message), without asking dmq.
  std::string status_in_redis(std::uint64_t id, const std::string& p,
                              const std::string& consumer) const {
    return record_field(redis, "dmq:{p" + p + "}:m:" + std::to_string(id), consumer);
  }
  std::string params_in_redis(std::uint64_t id, const std::string& p) const {
    return record_field(redis, "dmq:{p" + p + "}:m:" + std::to_string(id), "params");
  }
  // message_count counts the messages stored in Redis, of every project.
  std::size_t message_count() const {
    std::size_t n = 0;
    std::string cursor = "0";
    for (int round = 0; round < 10000; ++round) {
      auto r = redis.cmd({"SCAN", cursor, "MATCH", "dmq:{*}:m:*", "COUNT", "1000"});
      if (!r.is_array() || r.elements.size() != 2) break;
      n += r.elements[1].elements.size();
      cursor = r.elements[0].str;
      if (cursor == "0") break;
    }
    return n;
  }
  // in_pending says whether id is in consumer's pending (failed) list, as Redis holds it.
  bool in_pending(std::uint64_t id, const std::string& p, const std::string& consumer) const {
    auto r = redis.cmd({"ZSCORE", "dmq:{p" + p + "}:pending:" + consumer, std::to_string(id)});
    return !r.is_nil();
  }

  test::redis_server redis;
  test::consumer_endpoint endpoint;
  int port = test::free_port();
  std::string dir;
  std::unique_ptr<test::dmq_process> dmq;
};

// expect_refused checks the answer refusing a management call: 403, code 103, naming
// nothing about the message.
#define EXPECT_REFUSED_403(reply)                                 \
  do {                                                            \
    auto r_ = (reply);                                            \
    EXPECT_EQ(r_.status, 403) << r_.body;                         \
    EXPECT_EQ(r_.status == 403 ? r_.code() : -1, 103) << r_.body; \
  } while (0)

}  // namespace dmq::e2e
