#include "app/redis_probe.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <set>

#include "app/embedded_redis.h"
#include "storage/redis_check.h"
#include "storage/store.h"
#include "util/spawn.h"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace dmq::app {

namespace {

// list_queues writes every consumer queue found in Redis with its size, and warns of those
// no configured command serves (a consumer removed or renamed: they are not delivered).
asio::awaitable<void> list_queues(redis::client& conn, const config::settings& cfg,
                                  std::ostream& out) {
  auto keys = key_names(cfg);
  storage::script_set scripts;
  storage::store store(conn, keys, scripts, std::chrono::hours(24));
  auto [ec, queues] = co_await store.queues();
  if (ec) {
    out << "queues: cannot list them: " << ec.message() << "\n";
    co_return;
  }
  std::set<std::pair<std::string, std::string>> served;
  for (const auto& cmd : cfg.commands)
    for (const auto& c : cmd.consumers) served.insert({cmd.project, c.name});
  for (const auto& q : queues) {
    bool ok = served.count({q.project, q.consumer}) > 0;
    if (!ok && q.size == 0) continue;
    out << (ok ? "queue " : "warning: queue ") << q.project << "/" << q.consumer << ": " << q.size
        << " deliveries"
        << (ok ? ""
               : ", but no configured command has this consumer: they are "
                 "not delivered until it is configured again")
        << "\n";
  }
}

// probe is probe_redis on an io_context: code is its exit code.
asio::awaitable<void> probe(redis::client& conn, const config::settings& cfg, std::ostream& out,
                            int& code) {
  const auto& s = cfg.redis;
  std::string where = redis_where(s);
  conn.start();
  bool up = co_await conn.wait_ready(std::chrono::milliseconds(s.connect_timeout_ms) + 1s);
  if (!up && conn.why_down().starts_with("authentication refused")) {
    out << "redis: " << conn.why_down() << "\n";
    code = 1;
    co_return;
  }
  if (!up && s.embedded) {
    out << "redis: the embedded Redis (" << where << ", data in " << s.data_dir.string()
        << ") is not running, so there is nothing to check: dmq starts it with "
           "maxmemory-policy noeviction and appendonly yes (appendfsync "
        << s.appendfsync << ")\n";
    code = 0;
    co_return;
  }
  if (!up) {
    out << "redis: cannot reach " << where
        << (s.is_cluster() ? " (redis.cluster): " : " (redis.host, redis.port): ")
        << conn.why_down() << "\n";
    code = 1;
    co_return;
  }
  // Each master is checked (all of a cluster's must keep what they accept); the last
  // one's facts are shown with every master's findings.
  std::pair<std::error_code, storage::redis_verdict> checked;
  for (auto* node : conn.masters()) {
    auto one = co_await storage::check_redis(*node, s.allow_eviction);
    if (one.first) {
      checked.first = one.first;
      break;
    }
    auto findings = std::move(checked.second.findings);
    checked.second = std::move(one.second);
    for (auto& x : findings)  // once each, however many masters say it
      if (std::none_of(checked.second.findings.begin(), checked.second.findings.end(),
                       [&](const auto& y) { return y.text == x.text; }))
        checked.second.findings.push_back(std::move(x));
  }
  auto& [ec, v] = checked;
  if (ec) {
    out << "redis: " << where << " did not answer: " << ec.message() << "\n";
    code = 1;
    co_return;
  }
  const auto& f = v.facts;
  out << "redis " << where << ": version " << f.version << ", maxmemory-policy "
      << f.maxmemory_policy << " (from " << f.source << "), appendonly " << f.appendonly
      << ", appendfsync " << f.appendfsync << "\n";
  for (const auto& x : v.findings)
    out << (x.severity == storage::finding::level::refusal ? "refusal: " : "warning: ") << x.text
        << "\n";
  out << (v.refused() ? "redis: dmq refuses to start on this Redis\n" : "redis: OK for dmq\n");
  code = v.refused() ? 2 : 0;
  co_await list_queues(conn, cfg, out);
}

// probe_then_stop runs probe, then ends the io_context's work (the connection's loops).
asio::awaitable<void> probe_then_stop(asio::io_context& ioc, redis::client& conn,
                                      const config::settings& cfg, std::ostream& out, int& code) {
  co_await probe(conn, cfg, out, code);
  conn.stop();
  ioc.stop();
}

}  // namespace

redis::options redis_options(const config::redis_settings& s, std::string name) {
  redis::options o;
  o.host = s.embedded ? "127.0.0.1" : s.host;
  o.port = s.port;
  o.username = s.username;
  // With redis.embedded and no redis.password: the password dmq generated for its
  // redis-server (data_dir/password, app/embedded_redis.h).
  o.password = s.embedded ? embedded_password(s) : s.password;
  o.db = s.db;
  o.connect_timeout_ms = s.connect_timeout_ms;
  // A request to Redis answered later than redis.read_timeout_ms breaks the connection
  // (write_timeout_ms bounds nothing more: writes are part of the same request).
  o.request_timeout_ms = s.read_timeout_ms;
  o.min_backoff_ms = s.min_retry_backoff_ms;
  o.max_backoff_ms = std::max(s.max_retry_backoff_ms, s.min_retry_backoff_ms);
  o.name = std::move(name);
  return o;
}

std::unique_ptr<redis::client> redis_client(asio::any_io_executor ex,
                                            const config::redis_settings& s, std::string name) {
  if (!s.is_cluster()) return std::make_unique<redis::connection>(ex, redis_options(s, name));
  redis::cluster_options o;
  o.seeds = s.cluster;
  o.node = redis_options(s, std::move(name));
  return std::make_unique<redis::cluster>(ex, std::move(o));
}

storage::keys key_names(const config::settings& cfg) {
  storage::keys::shard_counts shards;
  for (const auto& p : cfg.producers)
    if (p.shards > 1) shards.emplace(p.project, p.shards);
  return storage::keys(cfg.redis.key_prefix, cfg.redis.is_cluster(), shards);
}

std::string redis_where(const config::redis_settings& s) {
  if (!s.is_cluster()) return (s.embedded ? "127.0.0.1" : s.host) + ":" + std::to_string(s.port);
  std::string out = "cluster ";
  for (const auto& seed : s.cluster) out += (out.size() > 8 ? "," : "") + seed;
  return out;
}

int probe_redis(const config::settings& cfg, std::ostream& out) {
  asio::io_context ioc(1);
  auto conn = redis_client(ioc.get_executor(), cfg.redis, "redis");
  int code = 1;
  util::spawn(ioc, probe_then_stop(ioc, *conn, cfg, out, code), "redis probe");
  ioc.run();
  return code;
}

}  // namespace dmq::app
