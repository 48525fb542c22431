#include "app/demo_consumer.h"

#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <string_view>

#include "http/server.h"
#include "util/spawn.h"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace dmq::app {

namespace {

constexpr std::size_t shown_body_bytes = 100;  // of each delivery's body, in its log line

struct address {
  std::string host;
  int port = 0;
};

// parse_listen reads HOST:PORT, [V6]:PORT, :PORT or PORT (host 127.0.0.1); port 0 on error.
address parse_listen(std::string_view s) {
  address a{"127.0.0.1", 0};
  auto colon = s.rfind(':');
  std::string_view port = s;
  if (colon != std::string_view::npos) {
    auto host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    if (host == "localhost") host = "127.0.0.1";
    if (!host.empty()) a.host = std::string(host);
  }
  int p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec == std::errc{} && end == port.data() + port.size() && p > 0 && p < 65536) a.port = p;
  return a;
}

// shown returns the first bytes of body for a log line: cut at a UTF-8 character boundary,
// control characters as '.', and how much was left out.
std::string shown(std::string_view body) {
  if (body.empty()) return "(empty)";
  auto n = std::min(body.size(), shown_body_bytes);
  while (n > 0 && n < body.size() && (static_cast<unsigned char>(body[n]) & 0xC0) == 0x80) --n;
  std::string out(body.substr(0, n));
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '.';
  if (n < body.size()) out += "... (" + std::to_string(body.size()) + " B)";
  return out;
}

// attempt_of returns the value of X-Dmq-Attempt in the request's X-Dmq-* fields, 0 if none.
int attempt_of(std::string_view fields) {
  constexpr std::string_view name = "X-Dmq-Attempt: ";
  auto at = fields.find(name);
  if (at == std::string_view::npos) return 0;
  int n = 0;
  auto from = fields.data() + at + name.size();
  std::from_chars(from, fields.data() + fields.size(), n);
  return n;
}

// consumer: the handler's state; one io_context thread, so no locks.
struct consumer {
  demo_options opt;
  std::mt19937_64 rng{std::random_device{}()};
  std::uint64_t received = 0;
  std::uint64_t failed = 0;

  http::response json(int status, std::string body) {
    http::response r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }

  // fails decides whether this delivery gets a 503, and says why ("" for a 200).
  std::string fails(int attempt) {
    if (attempt > 0 && attempt <= opt.fail_first)
      return "--fail-first " + std::to_string(opt.fail_first) + ": attempt " +
             std::to_string(attempt) + " fails";
    if (opt.fail_rate > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < opt.fail_rate)
      return "--fail-rate: this delivery fails";
    return {};
  }

  asio::awaitable<http::response> handle(http::request& req) {
    if (req.method == "GET" || req.method == "HEAD")  // a probe: is it up, what did it get
      co_return json(200, R"({"demo_consumer":"up","received":)" + std::to_string(received) +
                              R"(,"failed":)" + std::to_string(failed) + "}");
    if (req.method != "POST") co_return json(405, R"({"ok":false,"why":"POST only"})");
    ++received;
    auto why = fails(attempt_of(req.dmq_headers));
    int status = why.empty() ? 200 : 503;
    if (!why.empty()) ++failed;
    spdlog::info("{} {} {} body: {} -> {}{}", req.method, req.target,
                 req.dmq_headers.empty() ? "(no X-Dmq-* headers)" : req.dmq_headers,
                 shown(req.body), status, why.empty() ? "" : " (" + why + ")");
    if (!why.empty())
      co_return json(
          503, R"({"ok":false,"why":)" + boost::json::serialize(boost::json::string(why)) + "}");
    co_return json(200, R"({"ok":true,"received":)" + std::to_string(received) + "}");
  }
};

asio::awaitable<void> serve_until_signal(asio::io_context& ioc, http::server& server,
                                         const consumer& c) {
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  int sig = co_await signals.async_wait(asio::use_awaitable);
  spdlog::info("signal {}: stopping", sig);
  co_await server.shutdown(2s);
  spdlog::info("stopped: {} deliveries received, {} answered 503", c.received, c.failed);
  ioc.stop();
}

}  // namespace

int run_demo_consumer(const demo_options& o) {
  auto logger = spdlog::stderr_color_mt("demo-consumer");
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ [demo-consumer] %v");
  logger->flush_on(spdlog::level::info);  // one line per delivery, seen at once
  spdlog::set_default_logger(logger);
  ::signal(SIGPIPE, SIG_IGN);

  auto where = parse_listen(o.listen);
  if (where.port == 0) {
    spdlog::error("--listen {}: expected HOST:PORT, [IPv6]:PORT or PORT", o.listen);
    return 2;
  }
  asio::io_context ioc(1);
  consumer c{o};
  http::server_options so;
  so.listen = where.host;
  so.port = where.port;
  http::server server(ioc.get_executor(), so, [&c](http::request& r) { return c.handle(r); });
  if (auto ec = server.listen()) {
    spdlog::error("cannot listen on {}:{} (--listen): {}", where.host, where.port, ec.message());
    return 1;
  }
  auto host = where.host.find(':') != std::string::npos ? "[" + where.host + "]" : where.host;
  spdlog::info(
      "listening on http://{}:{}: answers 200 to every POST{}{}, logs one line per delivery; "
      "Ctrl-C stops it",
      host, server.port(),
      o.fail_first > 0 ? ", 503 to attempts 1.." + std::to_string(o.fail_first) : "",
      o.fail_rate > 0
          ? ", 503 to " + std::to_string(static_cast<int>(o.fail_rate * 100)) + "% of the others"
          : "");
  util::spawn(ioc, serve_until_signal(ioc, server, c), "demo consumer");
  ioc.run();
  return 0;
}

void add_demo_consumer(CLI::App& app) {
  auto o = std::make_shared<demo_options>();
  auto* sub = app.add_subcommand(
      "demo-consumer",
      "Run a consumer to try dmq with: 200 to every POST, one log line per delivery "
      "(config/commands deliver to 127.0.0.1:8959)");
  sub->add_option("--listen", o->listen, "Address to listen on: HOST:PORT, [IPv6]:PORT or PORT")
      ->capture_default_str();
  sub->add_option("--fail-first", o->fail_first,
                  "Answer 503 to the first N attempts of each message (X-Dmq-Attempt <= N)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--fail-rate", o->fail_rate,
                  "Answer 503 to this share (0..1) of the other deliveries, at random")
      ->check(CLI::Range(0.0, 1.0));
  // Runs when parsed, so main needs no branch of its own; exit, not return, because main
  // would go on to its default subcommand.
  sub->callback([o] { std::exit(run_demo_consumer(*o)); });
}

}  // namespace dmq::app
