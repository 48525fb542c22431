// api_tls_test: the API over HTTPS (http.tls), with certificates the test makes with the
// openssl CLI and requests made by curl: keep-alive, plain HTTP refused cleanly, a
// handshake that never comes, a new certificate on SIGHUP without dropping connections,
// mutual TLS, a bad certificate at start (issue 13, section 2).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "support/dmq_process.h"
#include "support/http_client.h"
#include "support/ports.h"
#include "support/redis_server.h"
#include "support/tls_client.h"

namespace dmq::e2e {
namespace {

using namespace std::chrono_literals;

// shell_result: a command's exit code and what it wrote (stdout and stderr).
struct shell_result {
  int exit_code = -1;
  std::string out;
};

// shell runs cmd with bash and returns its exit code and output.
shell_result shell(const std::string& cmd) {
  shell_result r;
  FILE* p = ::popen(("bash -c '" + cmd + "' 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

// make_ca makes a CA (name.pem, name.key) in dir.
void make_ca(const std::string& dir, const std::string& name) {
  auto r = shell("cd " + dir + " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256" +
                 " -nodes -days 2 -subj /CN=" + name + " -keyout " + name + ".key -out " + name +
                 ".pem");
  ASSERT_EQ(r.exit_code, 0) << r.out;
}

// make_cert makes a certificate for 127.0.0.1 with common name cn, signed by CA ca, into
// dir/<out>.pem and dir/<out>.key.
void make_cert(const std::string& dir, const std::string& ca, const std::string& cn,
               const std::string& out) {
  std::ofstream(dir + "/san.cnf") << "subjectAltName=IP:127.0.0.1\n";
  auto r = shell("cd " + dir + " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256" +
                 " -nodes -subj /CN=" + cn + " -keyout " + out + ".key -out " + out + ".csr" +
                 " && openssl x509 -req -days 2 -in " + out + ".csr -CA " + ca + ".pem -CAkey " +
                 ca + ".key -set_serial " + std::to_string(std::rand() + 1) +
                 " -extfile san.cnf -out " + out + ".pem");
  ASSERT_EQ(r.exit_code, 0) << r.out;
}

// api_tls_test: a redis-server, a config dir whose http.tls names cert.pem and cert.key (a
// certificate for CN=dmq-one by the CA ca.pem, its key cert.key), and `dmq client` serving HTTPS.
class api_tls_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = test::make_config_dir(redis.port(), port, extra_yaml());
    make_ca(dir, "ca");
    make_cert(dir, "ca", "dmq-one", "cert");
    if (HasFatalFailure()) return;
    std::ifstream in(dir + "/config.yaml");
    std::string yaml((std::istreambuf_iterator<char>(in)), {});
    std::string http = "http:\n  listen: 127.0.0.1\n";
    auto at = yaml.find(http);
    ASSERT_NE(at, std::string::npos);
    yaml.insert(at + http.size(),
                "  read_timeout_ms: 1000\n  tls:\n    cert_file: cert.pem\n"
                "    key_file: cert.key\n" +
                    tls_yaml());
    std::ofstream(dir + "/config.yaml", std::ios::trunc) << yaml;
    if (start_at_setup) start();
  }

  void TearDown() override {
    dmq.reset();
    test::remove_config_dir(dir);
  }

  virtual std::string tls_yaml() const { return ""; }
  virtual std::string extra_yaml() const { return ""; }

  // start starts `dmq sub` and waits until /healthz answers 200 over HTTPS on port.
  void start(const std::string& sub = "client") {
    dmq = std::make_unique<test::dmq_process>(dir, port, sub, false);
    bool up = test::wait_until(
        [&] {
          return dmq->running() && curl("/healthz").out == "200 1" &&
                 test::listening_pid_has(dmq->pid(), port);
        },
        10s);
    ASSERT_TRUE(up) << dmq->log();
  }

  // curl runs curl with the test's CA on https://127.0.0.1:port + target (options before),
  // writing "<status> <connections made>" per URL.
  shell_result curl(const std::string& target, const std::string& options = "") const {
    return shell("curl -sS -m 5 --cacert " + dir + "/ca.pem -o /dev/null -w \"%{http_code} " +
                 "%{num_connects}\" " + options + " https://127.0.0.1:" + std::to_string(port) +
                 target);
  }

  // served_subject returns the subject of the certificate a new connection is shown.
  std::string served_subject() const {
    try {
      return test::tls_client(port, dir + "/ca.pem").peer_subject();
    } catch (const std::exception& e) {
      return e.what();
    }
  }

  // metric returns the value of the series name on /metrics (over HTTPS), -1 if absent.
  double metric(const std::string& name) const {
    auto r = shell("curl -sS -m 5 --cacert " + dir +
                   "/ca.pem https://127.0.0.1:" + std::to_string(port) + "/metrics");
    auto at = r.out.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stod(r.out.substr(at + name.size() + 2));
  }

  bool start_at_setup = true;
  test::redis_server redis;
  int port = test::free_port();
  std::string dir;
  std::unique_ptr<test::dmq_process> dmq;
};

TEST_F(api_tls_test, the_api_answers_over_https_and_keeps_the_connection_alive) {
  auto url = "https://127.0.0.1:" + std::to_string(port);
  auto two = curl("/healthz", url + "/metrics -o /dev/null");
  EXPECT_EQ(two.out, "200 1200 0") << "the second request made a new connection";
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(curl("/healthz", "-H \"Connection: close\"").out, "200 1");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 900ms) << "close_notify waited for its bound";
  auto post = shell("curl -sS -m 5 --cacert " + dir + "/ca.pem " + url +
                    "/api/message/single -d \"{\\\"project\\\":\\\"sds\\\","
                    "\\\"cmd\\\":\\\"sds:create:order\\\",\\\"bucket\\\":\\\"b\\\","
                    "\\\"params\\\":\\\"{}\\\",\\\"delay_ms\\\":60000}\"");
  EXPECT_NE(post.out.find("\"code\":0"), std::string::npos) << post.out;
}

TEST_F(api_tls_test, plain_http_to_the_tls_port_is_closed_and_https_still_served) {
  auto t0 = std::chrono::steady_clock::now();
  auto plain = shell("curl -sS -m 5 http://127.0.0.1:" + std::to_string(port) + "/healthz");
  EXPECT_NE(plain.exit_code, 0) << plain.out;
  EXPECT_NE(plain.exit_code, 28) << "timed out instead of being closed: " << plain.out;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_EQ(curl("/healthz").out, "200 1");
  EXPECT_EQ(metric("dmq_http_tls_handshake_failures_total"), 1);
  EXPECT_TRUE(dmq->running()) << dmq->log();
}

TEST_F(api_tls_test, a_client_that_never_handshakes_is_closed_after_the_read_timeout) {
  test::http_client silent(port);  // connects, sends nothing
  EXPECT_EQ(curl("/healthz").out, "200 1") << "another connection waited for the silent one";
  EXPECT_TRUE(silent.closed(3s)) << "not closed within http.read_timeout (1 s) + slack";
  EXPECT_TRUE(
      test::wait_until([&] { return metric("dmq_http_tls_handshake_failures_total") == 1; }, 5s));
}

TEST_F(api_tls_test, sighup_serves_a_new_certificate_to_new_connections_only) {
  test::tls_client before(port, dir + "/ca.pem");
  EXPECT_EQ(before.peer_subject(), "/CN=dmq-one");
  EXPECT_EQ(before.get("/healthz").status, 200);
  make_cert(dir, "ca", "dmq-two", "cert");  // over cert.pem and cert.key
  dmq->signal(SIGHUP);
  EXPECT_TRUE(test::wait_until([&] { return served_subject() == "/CN=dmq-two"; }, 10s))
      << served_subject() << "\n"
      << dmq->log();
  EXPECT_EQ(before.get("/healthz").status, 200) << "the open connection was dropped";
  EXPECT_EQ(curl("/healthz").out, "200 1");
  EXPECT_TRUE(dmq->running()) << dmq->log();
}

TEST_F(api_tls_test, sighup_with_a_bad_certificate_keeps_the_old_one) {
  std::ofstream(dir + "/cert.pem", std::ios::trunc) << "not a certificate\n";
  dmq->signal(SIGHUP);
  EXPECT_TRUE(test::wait_until(
      [&] { return dmq->log().find("http.tls not reloaded") != std::string::npos; }, 10s))
      << dmq->log();
  EXPECT_NE(dmq->log().find("cert_file " + dir + "/cert.pem"), std::string::npos) << dmq->log();
  EXPECT_EQ(served_subject(), "/CN=dmq-one");
  EXPECT_EQ(curl("/healthz").out, "200 1");
  EXPECT_TRUE(dmq->running()) << dmq->log();
}

class api_mutual_tls_test : public api_tls_test {
 protected:
  void SetUp() override {
    start_at_setup = false;
    api_tls_test::SetUp();
    make_ca(dir, "clients");
    make_cert(dir, "clients", "producer-1", "client");
    make_ca(dir, "strangers");
    make_cert(dir, "strangers", "stranger", "stranger");
    if (HasFatalFailure()) return;
    dmq = std::make_unique<test::dmq_process>(dir, port, "client", false);
    ASSERT_TRUE(test::wait_until([&] { return with_cert("client").out == "200 1"; }, 10s))
        << dmq->log();
  }
  std::string tls_yaml() const override { return "    client_ca_file: clients.pem\n"; }

  shell_result with_cert(const std::string& name) const {
    return curl("/healthz",
                "--cert " + dir + "/" + name + ".pem --key " + dir + "/" + name + ".key");
  }
};

TEST_F(api_mutual_tls_test, a_client_certificate_of_client_ca_file_is_required) {
  EXPECT_EQ(with_cert("client").out, "200 1");
  auto none = curl("/healthz");
  EXPECT_NE(none.exit_code, 0) << none.out;
  auto stranger = with_cert("stranger");
  EXPECT_NE(stranger.exit_code, 0) << stranger.out;
  EXPECT_EQ(with_cert("client").out, "200 1");
  EXPECT_TRUE(dmq->running()) << dmq->log();
}

class api_tls_start_test : public api_tls_test {
 protected:
  void SetUp() override {
    start_at_setup = false;
    api_tls_test::SetUp();
  }
};

TEST_F(api_tls_start_test, a_certificate_that_cannot_be_read_stops_dmq_with_exit_2) {
  std::filesystem::remove(dir + "/cert.key");
  test::dmq_process p(dir, port, "client", false);
  EXPECT_EQ(p.wait_exit(10000), 2) << p.log();
  EXPECT_NE(p.log().find("http.tls: key_file " + dir + "/cert.key: cannot read it"),
            std::string::npos)
      << p.log();
  auto check = shell(std::string(DMQ_BINARY) + " check " + dir);
  EXPECT_EQ(check.exit_code, 2) << check.out;
  EXPECT_NE(check.out.find("key_file " + dir + "/cert.key: cannot read it"), std::string::npos)
      << check.out;
}

TEST_F(api_tls_start_test, a_key_of_another_certificate_stops_dmq_with_exit_2) {
  make_cert(dir, "ca", "other", "other");
  std::filesystem::copy_file(dir + "/other.key", dir + "/cert.key",
                             std::filesystem::copy_options::overwrite_existing);
  test::dmq_process p(dir, port, "client", false);
  EXPECT_EQ(p.wait_exit(10000), 2) << p.log();
  EXPECT_NE(p.log().find("http.tls: key_file"), std::string::npos) << p.log();
}

class dispatcher_tls_test : public api_tls_test {
 protected:
  void SetUp() override {
    start_at_setup = false;
    api_tls_test::SetUp();
    if (HasFatalFailure()) return;
    start("server");
  }
  std::string extra_yaml() const override {
    return "dispatch:\n  http_port: " + std::to_string(port) + "\n";
  }
};

TEST_F(dispatcher_tls_test, the_dispatchers_port_serves_healthz_and_metrics_over_https) {
  EXPECT_EQ(curl("/metrics").out, "200 1");
  EXPECT_EQ(served_subject(), "/CN=dmq-one");
}

}  // namespace
}  // namespace dmq::e2e
