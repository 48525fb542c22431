#include "app/run.h"

#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <optional>

#include "app/embedded_redis.h"
#include "app/redis_probe.h"
#include "dispatch/dispatcher.h"
#include "http/server.h"
#include "http/tls_context.h"
#include "ingest/access.h"
#include "ingest/api.h"
#include "ingest/envelope.h"
#include "redis/connection.h"
#include "storage/id_source.h"
#include "storage/keys.h"
#include "storage/redis_check.h"
#include "storage/save_batcher.h"
#include "storage/scripts.h"
#include "storage/store.h"
#include "util/fd_limit.h"
#include "util/metrics.h"
#include "util/spawn.h"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace dmq::app {

namespace {

const char* role_name(role r) {
  return r == role::client ? "client" : r == role::server ? "server" : "run";
}

// say logs one of the few lines an operator running dmq in the foreground must see: where
// it listens, where it logs, that it stops. With log.dir set the terminal only shows
// warnings (the file has everything), so these are written to stderr as well.
void say(const config::settings& cfg, role r, const std::string& text) {
  spdlog::info("{}", text);
  if (cfg.log.dir.empty() || !spdlog::should_log(spdlog::level::info)) return;
  static auto console = [r] {
    auto l = std::make_shared<spdlog::logger>(
        "console", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    l->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ [" + std::string(role_name(r)) + "] %v");
    return l;
  }();
  console->info("{}", text);
}

// url_host returns how to reach an address dmq listens on from this machine.
std::string url_host(const std::string& listen) {
  if (listen == "0.0.0.0" || listen.empty()) return "127.0.0.1";
  if (listen == "::") return "[::1]";
  return listen.find(':') != std::string::npos ? "[" + listen + "]" : listen;
}

http::server_options http_options(const config::settings& cfg,
                                  std::shared_ptr<http::tls_context> tls) {
  http::server_options o;
  o.tls = std::move(tls);
  o.listen = cfg.http.listen;
  o.port = cfg.http.port;
  o.max_body_bytes = cfg.limits.max_body_bytes;
  o.read_timeout = std::chrono::milliseconds(cfg.http.read_timeout_ms);
  o.idle_timeout = std::chrono::milliseconds(cfg.http.idle_timeout_ms);
  o.max_connections = cfg.http.max_connections;
  o.reuse_port = cfg.http.reuse_port;
  auto limit = cfg.limits.max_body_bytes;
  o.too_large = [limit] {
    return ingest::fail(ingest::errc::body_too_large,
                        "body: larger than the limit of " + std::to_string(limit) + " bytes");
  };
  return o;
}

// load_tls returns http.tls's context, null without TLS or (logged) if it cannot be loaded.
std::shared_ptr<http::tls_context> load_tls(const config::tls_settings& t) {
  if (!t.enabled()) return nullptr;
  auto tls = std::make_shared<http::tls_context>(
      http::tls_files{t.cert_file, t.key_file, t.client_ca_file});
  if (auto err = tls->load(); !err.empty()) {
    spdlog::error("http.tls: {}", err);
    return nullptr;
  }
  spdlog::info("http.tls: serving {}", tls->subject());
  return tls;
}

// process: everything one dmq process runs, wired together.
struct process {
  process(asio::io_context& ioc, const config::settings& cfg, role r,
          std::shared_ptr<http::tls_context> tls)
      : cfg(cfg),
        role(r),
        tls(std::move(tls)),
        keys(key_names(cfg)),
        scripts(cfg.redis.is_cluster()),
        conn_owner(redis_client(ioc.get_executor(), cfg.redis, "redis")),
        conn(*conn_owner),
        store(
            conn, keys, scripts,
            cfg.msg_save_seconds > 0 ? std::chrono::milliseconds(cfg.msg_save_seconds * 1000LL)
                                     : std::chrono::hours(24 * cfg.msg_save_days),
            {cfg.redis.max_retries, cfg.redis.min_retry_backoff_ms, cfg.redis.max_retry_backoff_ms},
            // WAIT must answer before the request timeout breaks the connection.
            {cfg.redis.wait_replicas,
             std::min(cfg.redis.wait_timeout_ms, std::max(1, cfg.redis.read_timeout_ms / 2))}),
        saver(ioc.get_executor(), store, static_cast<std::size_t>(cfg.limits.max_queued_saves)),
        ids(ioc.get_executor(), conn, keys, scripts, &store.redis_clock()),
        api(cfg, store, saver, ids, conn, last_check),
        http(ioc.get_executor(), observed(http_options(cfg, this->tls)),
             [this](http::request& r) { return api.handle(r); }) {
    conn.set_on_connect([this](redis::connection& c) { return on_redis_connect(c); });
    if (r != role::client)
      dispatcher.emplace(ioc.get_executor(), cfg, store, keys,
                         redis_options(cfg.redis, "redis-wake"),
                         dynamic_cast<const redis::cluster*>(&conn));
    count();
  }

  bool serves_api() const { return role != role::server; }

  // on_redis_connect runs on every (re)connect, before the connection is used: it checks
  // the Redis's settings (storage/redis_check.h), then hands over to the store's on_connect
  // (scripts, and the revocation of saves whose outcome was unknown). A Redis that
  // would lose accepted messages is refused as if it were down: saves answer 106, /healthz
  // 503 with the reason, deliveries wait; the connection tries again every
  // redis.max_retry_backoff and resumes by itself once the setting is fixed.
  asio::awaitable<std::error_code> on_redis_connect(redis::connection& c) {
    auto [ec, verdict] = co_await storage::check_redis(c, cfg.redis.allow_eviction);
    if (ec) co_return ec;
    report(verdict, conn.is_cluster() ? c.where() : std::string());
    bool refused = verdict.refused();
    last_check = std::move(verdict);
    if (refused) co_return redis::errc::server_error;
    co_return co_await store.on_connect(c);
  }

  // report logs what the check found when it differs from the last time, so a refused Redis
  // retried every few hundred ms logs once, and a warning is not repeated at every reconnect.
  // In a cluster each master is checked and named (where): one may lack what another has.
  void report(const storage::redis_verdict& v, const std::string& where) {
    const auto& f = v.facts;
    auto said = fmt::format(
        "version {}, maxmemory-policy {} (from {}), appendonly {}, "
        "appendfsync {}",
        f.version, f.maxmemory_policy, f.source, f.appendonly, f.appendfsync);
    for (const auto& x : v.findings) said += "\n" + x.text;
    // Per master in a cluster: a map of what each said last would be more; one is enough to
    // keep a reconnecting master from repeating itself.
    if (where + said == last_report) return;
    last_report = where + said;
    auto who = where.empty() ? std::string("redis") : "redis " + where;
    spdlog::info("{}: {}", who, said.substr(0, said.find('\n')));
    for (const auto& x : v.findings) {
      if (x.severity == storage::finding::level::refusal)
        spdlog::error("{}: refused: {}", who, x.text);
      else
        spdlog::warn("{}: WARNING: {}", who, x.text);
    }
  }

  // redis_refused says whether the latest check refused the Redis.
  bool redis_refused() const { return last_check && last_check->refused(); }

  // observed adds the API's metrics to the HTTP server's options.
  http::server_options observed(http::server_options o) {
    o.observe = [this](const http::request& req, const http::response& resp, double s) {
      api.observe(req, resp, s);
    };
    o.accept_errors = &metrics.counter(
        "dmq_http_accept_errors_total",
        "Connections the API could not accept (EMFILE, ENFILE, ...); each is retried after "
        "50 ms, so a producer waits rather than fails.");
    if (o.tls) o.tls_handshake_failures = &tls_failures();
    return o;
  }

  // tls_failures returns the counter of failed TLS handshakes on this process's port.
  std::uint64_t& tls_failures() {
    return metrics.counter("dmq_http_tls_handshake_failures_total",
                           "TLS handshakes that failed (no certificate the client trusts, a "
                           "client certificate refused, plain HTTP) or did not end within "
                           "http.read_timeout.");
  }

  // reload_tls reads http.tls's files again (SIGHUP): new connections use them, open
  // ones keep theirs; files that do not load are reported and the old ones kept.
  void reload_tls() {
    if (auto err = tls->load(); !err.empty())
      spdlog::error("SIGHUP: http.tls not reloaded, keeping the certificate in use: {}", err);
    else
      spdlog::info("SIGHUP: http.tls reloaded: new connections get {}", tls->subject());
  }

  // count registers every metric of this process (docs/metrics.md).
  void count() {
    metrics.gauge("dmq_redis_connected", "1 while the Redis connection is up, else 0.", {},
                  [this] { return conn.ready() ? 1.0 : 0.0; });
    store.count_into(metrics);
    if (auto* c = dynamic_cast<redis::cluster*>(&conn)) c->count_into(metrics);
    if (serves_api()) {
      api.count_into(metrics);
      metrics.gauge("dmq_http_connections", "Open connections to the API.", {},
                    [this] { return static_cast<double>(http.connections()); });
      api.serve_metrics([this] { return metrics_page(); });
    }
    if (dispatcher) dispatcher->count_into(metrics);
  }

  // metrics_page answers GET /metrics: the queue counts read from Redis, then everything.
  asio::awaitable<http::response> metrics_page() {
    if (dispatcher) co_await dispatcher->refresh_metrics();
    http::response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    metrics.write(r.body);
    co_return r;
  }

  // status_page answers the dispatcher's own port (dispatch.http_port): /healthz, /metrics.
  asio::awaitable<http::response> status_page(http::request& req) {
    auto path = req.path();
    if (path != "/healthz" && path != "/metrics")
      co_return ingest::fail(ingest::errc::not_found, "no such path: " + std::string(path), 404);
    if (req.method != "GET" && req.method != "HEAD")
      co_return ingest::fail(ingest::errc::method_not_allowed, std::string(path) + ": use GET",
                             405);
    if (path == "/metrics") {
      if (auto refused = ingest::metrics_refusal(req, cfg)) co_return std::move(*refused);
      co_return co_await metrics_page();
    }
    boost::json::object data{{"redis", conn.ready() ? "up" : "down"}};
    if (last_check) data["redis_checks"] = last_check->to_json();
    if (redis_refused())
      co_return ingest::reply(ingest::errc::unhealthy,
                              "redis refused: " + last_check->refusal_text(), data, 503);
    if (!conn.ready())
      co_return ingest::reply(ingest::errc::unhealthy, "redis is down: " + conn.why_down(), data,
                              503);
    co_return ingest::ok(data);
  }

  const config::settings& cfg;
  app::role role;
  std::shared_ptr<http::tls_context> tls;  // set: the HTTP ports are HTTPS only
  util::metrics metrics;
  storage::keys keys;
  storage::script_set scripts;
  std::unique_ptr<redis::client> conn_owner;
  redis::client& conn;
  storage::store store;
  storage::save_batcher saver;
  storage::id_source ids;
  ingest::api api;
  http::server http;
  std::optional<dispatch::dispatcher> dispatcher;
  std::optional<http::server> status_http;           // dmq server's /healthz and /metrics
  std::optional<storage::redis_verdict> last_check;  // of the latest (re)connect
  std::string last_report;                           // what report() logged last
  bool stopping = false;                             // a signal came: shutting down
  int exit_code = 0;
  std::function<void()> served;  // called once serving (run's argument)
};

// start_api starts the id leases and the HTTP API; false (and the process stops) on failure.
asio::awaitable<bool> start_api(asio::io_context& ioc, process& p) {
  const auto& cfg = p.cfg;
  util::spawn(ioc, p.ids.run(), "id node lease");
  // Listen once ids can be issued, so /healthz is 200 from the first request on. If no id
  // node is free (32 processes already), serve anyway: /healthz says 503 until one frees.
  asio::steady_timer t(ioc);
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (!p.ids.ready() && model::id_generator::in_range(storage::now_ms()) &&
         std::chrono::steady_clock::now() < until) {
    t.expires_after(10ms);
    co_await t.async_wait(asio::use_awaitable);
  }
  if (!p.ids.ready()) spdlog::error("messages are refused for now: {}", p.ids.why_not());
  if (auto ec = p.http.listen()) {
    spdlog::error("cannot listen on {}:{} (http.listen, http_port): {}{}", cfg.http.listen,
                  cfg.http.port, ec.message(),
                  ec == std::errc::address_in_use
                      ? " (another process listens there; dmq processes share a port only with "
                        "http.reuse_port: true in each, or workers: N)"
                      : "");
    p.exit_code = 1;
    p.ids.stop();
    p.conn.stop();
    ioc.stop();
    co_return false;
  }
  auto base =
      fmt::format("{}://{}:{}", p.tls ? "https" : "http", url_host(cfg.http.listen), p.http.port());
  say(cfg, p.role,
      fmt::format("dmq API listening on {}:{}: API {}/api/, dashboard {}/ui/, metrics {}/metrics, "
                  "health {}/healthz",
                  cfg.http.listen, p.http.port(), base, base, base, base));
  for (const auto& w : ingest::exposure_warnings(cfg)) spdlog::warn("security: {}", w);
  co_return true;
}

// connect_redis connects, and waits until Redis is ready or refused by the check or the
// bound passes; false (and the process stops: 1 unreachable, 2 refused) unless ready.
asio::awaitable<bool> connect_redis(asio::io_context& ioc, process& p) {
  const auto& cfg = p.cfg;
  p.conn.start();
  asio::steady_timer t(ioc);
  auto until = std::chrono::steady_clock::now() +
               std::chrono::milliseconds(cfg.redis.connect_timeout_ms) + 1s;
  while (!p.conn.ready() && !p.redis_refused() && std::chrono::steady_clock::now() < until) {
    t.expires_after(10ms);
    co_await t.async_wait(asio::use_awaitable);
  }
  if (p.conn.ready()) co_return true;
  if (p.redis_refused()) {
    spdlog::error("refusing to start on the redis at {}: {}", redis_where(cfg.redis),
                  p.last_check->refusal_text());
    p.exit_code = 2;
  } else {
    spdlog::error("cannot reach redis at {} ({}): {}", redis_where(cfg.redis),
                  cfg.redis.is_cluster() ? "redis.cluster" : "redis.host, redis.port",
                  p.conn.why_down());
    p.exit_code = 1;
  }
  p.conn.stop();
  ioc.stop();
  co_return false;
}

// watch_embedded keeps the embedded Redis running (embedded_redis::tick) until a signal.
asio::awaitable<void> watch_embedded(asio::io_context& ioc, process& p, embedded_redis& redis) {
  asio::steady_timer t(ioc);
  while (!p.stopping) {
    t.expires_after(1s);
    co_await t.async_wait(asio::use_awaitable);
    if (!p.stopping) redis.tick();
  }
}

asio::awaitable<void> serve(asio::io_context& ioc, process& p) {
  const auto& cfg = p.cfg;
  bool connected = co_await connect_redis(ioc, p);
  if (!connected) co_return;
  if (p.serves_api()) {  // (no co_await inside && or ?: : GCC 12 miscompiles those)
    bool started = co_await start_api(ioc, p);
    if (!started) co_return;
  }
  if (p.dispatcher) p.dispatcher->start();
  if (!p.serves_api() && cfg.dispatch.http_port > 0) {
    auto o = http_options(cfg, p.tls);
    o.port = cfg.dispatch.http_port;
    if (o.tls) o.tls_handshake_failures = &p.tls_failures();
    p.status_http.emplace(ioc.get_executor(), o,
                          [&p](http::request& r) { return p.status_page(r); });
    if (auto ec = p.status_http->listen())
      spdlog::error(
          "cannot listen on {}:{} (http.listen, dispatch.http_port): {}; "
          "delivering without /healthz and /metrics",
          cfg.http.listen, cfg.dispatch.http_port, ec.message());
    else
      say(cfg, p.role,
          fmt::format("dmq server: /healthz and /metrics on {}://{}:{}", p.tls ? "https" : "http",
                      url_host(cfg.http.listen), p.status_http->port()));
  }

  if (p.served) p.served();
  // SIGHUP reloads http.tls's files. Without TLS there is nothing to reload, and it stops
  // dmq as the seed stopped on it, but in order, as SIGTERM does: its default action
  // killed dmq at once, leaving deliveries in flight to be sent again after their lease.
  asio::signal_set signals(ioc, SIGINT, SIGTERM, SIGHUP);
  int sig = co_await signals.async_wait(asio::use_awaitable);
  while (sig == SIGHUP && p.tls) {
    p.reload_tls();
    sig = co_await signals.async_wait(asio::use_awaitable);
  }
  p.stopping = true;
  say(cfg, p.role,
      fmt::format("signal {} ({}): stopping (requests in flight get {} ms, deliveries {} ms)", sig,
                  sig == SIGINT    ? "SIGINT"
                  : sig == SIGTERM ? "SIGTERM"
                                   : "SIGHUP",
                  cfg.http.shutdown_timeout_ms, cfg.dispatch.shutdown_timeout_ms));
  if (p.serves_api())
    co_await p.http.shutdown(std::chrono::milliseconds(cfg.http.shutdown_timeout_ms));
  if (p.dispatcher)
    co_await p.dispatcher->shutdown(std::chrono::milliseconds(cfg.dispatch.shutdown_timeout_ms));
  if (p.status_http) co_await p.status_http->shutdown(1s);
  p.ids.stop();
  p.conn.stop();
  ioc.stop();
}

}  // namespace

int run(const config::settings& cfg, role r, std::function<void()> served) {
  ::signal(SIGPIPE, SIG_IGN);
  auto tls = load_tls(cfg.http.tls);
  if (cfg.http.tls.enabled() && !tls) return 2;
  if (auto raised = util::raise_fd_limit(); !raised.empty()) spdlog::info("{}", raised);
  if (!cfg.log.dir.empty())
    say(cfg, r,
        fmt::format("dmq {}: logging to {} (this terminal shows warnings and errors only)",
                    role_name(r),
                    (cfg.log.dir / (std::string("dmq-") + role_name(r) + ".log")).string()));
  std::optional<embedded_redis> redis;
  if (cfg.redis.embedded) {
    redis.emplace(cfg.redis);
    if (auto err = redis->start(); !err.empty()) {
      spdlog::error("redis.embedded: {}", err);
      return 1;
    }
  }
  asio::io_context ioc(1);
  process p(ioc, cfg, r, tls);
  p.served = std::move(served);
  // A coroutine ended by an exception (a bug): stop in order, and exit 70 so a supervisor
  // restarts the process; leases make what was in flight due again.
  util::set_fatal_handler([&p, &ioc](const std::string& what, const std::string&) {
    p.exit_code = 70;
    if (what == "serve")
      ioc.stop();  // nothing left to handle the signal
    else
      ::raise(SIGTERM);
  });
  util::spawn(ioc, serve(ioc, p), "serve");
  if (redis) util::spawn(ioc, watch_embedded(ioc, p, *redis), "embedded redis watch");
  ioc.run();
  util::set_fatal_handler(nullptr);
  redis.reset();  // stops the embedded Redis (flushing its AOF) before the last line
  say(cfg, r, fmt::format("stopped (exit code {})", p.exit_code));
  return p.exit_code;
}

}  // namespace dmq::app
