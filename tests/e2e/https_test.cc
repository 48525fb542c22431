// https_test: delivery to an https consumer, with a certificate the test makes.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "support/dmq_process.h"
#include "support/http_client.h"
#include "support/ports.h"
#include "support/redis_server.h"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// tls_consumer: an https server on 127.0.0.1 answering 200 to every POST, recording targets.
class tls_consumer {
 public:
  explicit tls_consumer(const fs::path& dir) : ctx_(asio::ssl::context::tls_server) {
    ctx_.use_certificate_chain_file((dir / "cert.pem").string());
    ctx_.use_private_key_file((dir / "key.pem").string(), asio::ssl::context::pem);
    acceptor_.open(asio::ip::tcp::v4());
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~tls_consumer() {
    stop_ = true;
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);  // wakes the blocked accept()
    thread_.join();
  }
  int port() const { return port_; }
  std::vector<std::string> targets() {
    std::lock_guard l(m_);
    return targets_;
  }
  int handshakes_failed() const { return failed_; }

 private:
  void serve() {
    while (!stop_) {
      boost::system::error_code ec;
      asio::ip::tcp::socket sock(ioc_);
      acceptor_.accept(sock, ec);
      if (ec) return;
      beast::ssl_stream<asio::ip::tcp::socket> s(std::move(sock), ctx_);
      s.handshake(asio::ssl::stream_base::server, ec);
      if (ec) {
        ++failed_;
        continue;
      }
      for (;;) {  // keep-alive: answer until the client closes
        beast::flat_buffer buf;
        beast::http::request<beast::http::string_body> req;
        beast::http::read(s, buf, req, ec);
        if (ec) break;
        {
          std::lock_guard l(m_);
          targets_.push_back(std::string(req.target()) + " " + req.body());
        }
        beast::http::response<beast::http::string_body> res{beast::http::status::ok, 11};
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        beast::http::write(s, res, ec);
        if (ec || !req.keep_alive()) break;
      }
    }
  }

  asio::io_context ioc_;
  asio::ssl::context ctx_;
  asio::ip::tcp::acceptor acceptor_{ioc_};
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> failed_{0};
  std::mutex m_;
  std::vector<std::string> targets_;
  std::thread thread_;
};

struct https_test : ::testing::Test {
  fs::path dir = fs::temp_directory_path() / ("dmq-https-" + std::to_string(::getpid()) + "-" +
                                              std::to_string(dmq::test::free_port()));
  dmq::test::redis_server redis;
  int http_port = dmq::test::free_port();

  https_test() {
    fs::create_directories(dir / "commands");
    auto cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
        "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
        (dir / "key.pem").string() + " -out " + (dir / "cert.pem").string() + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl could not make a cert");
  }
  ~https_test() override {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  void write_config(int consumer_port, const std::string& tls_keys) {
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
consumer_list:
  - host: https://localhost:)" << consumer_port << R"(
    name: secure
    path: /hook?x=1
    timeout: 2000
    retry_times: 0
    interval: 10
)" << tls_keys;
  }

  long long post(const std::string& params) {
    auto r = dmq::test::call(
        http_port, "POST", "/api/message/single",
        R"({"project":"sds","cmd":"sds:create:order","bucket":"b","params":")" + params + "\"}");
    return r.data().as_int64();
  }

  std::string status(long long id) {
    auto r = dmq::test::call(http_port, "GET",
                             "/api/message/status?consumer=secure&msg_id=" + std::to_string(id));
    return std::string(r.data().as_string());
  }
};

}  // namespace

TEST_F(https_test, delivers_to_an_https_consumer_whose_certificate_is_trusted) {
  tls_consumer consumer(dir);
  write_config(consumer.port(), "    ca_file: cert.pem\n");
  dmq::test::dmq_process dmq(dir.string(), http_port, "run");
  auto id = post("hello");
  ASSERT_TRUE(dmq::test::wait_until([&] { return status(id) == "done"; }, 10s)) << dmq.log();
  auto t = consumer.targets();
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0], "/hook?x=1&msg_id=" + std::to_string(id) + "&retry=0 hello");
}

TEST_F(https_test, an_untrusted_certificate_fails_the_attempt) {
  tls_consumer consumer(dir);
  write_config(consumer.port(), "");  // the system's CAs do not know the test's certificate
  dmq::test::dmq_process dmq(dir.string(), http_port, "run");
  auto id = post("secret");
  ASSERT_TRUE(dmq::test::wait_until([&] { return status(id) == "failure"; }, 10s)) << dmq.log();
  EXPECT_TRUE(consumer.targets().empty());
  EXPECT_NE(dmq.log().find("TLS handshake failed"), std::string::npos) << dmq.log();
}
