// dispatcher: the seed's "server". One consumer_worker per consumer of every command, and
// a pub/sub connection on each project's wake channel, so a message saved for earlier
// than a worker's next wake-up is delivered on time without any polling.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "dispatch/consumer_worker.h"
#include "dispatch/event_log.h"
#include "http/client.h"
#include "redis/connection.h"
#include "redis/subscriber.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace dmq::dispatch {

class dispatcher {
 public:
  dispatcher(boost::asio::any_io_executor ex, const config::settings& cfg, storage::store& store,
             const storage::keys& keys, redis::options wake_connection,
             const redis::cluster* cluster = nullptr);

  // start spawns the workers and subscribes to the wake channels.
  void start();
  // shutdown stops claiming, lets deliveries in flight finish within deadline, releases
  // the leases of the rest, and closes the wake connection.
  boost::asio::awaitable<void> shutdown(std::chrono::milliseconds deadline);

  // worker returns the worker of a consumer, or nullptr.
  consumer_worker* worker(std::string_view consumer);

  // count_into registers the dispatcher's metrics in m (docs/metrics.md).
  void count_into(util::metrics& m);
  // refresh_metrics reads every consumer's queue counts from Redis for the metrics' next
  // write; if Redis does not answer, the queue gauges are NaN (unknown) until it does.
  boost::asio::awaitable<void> refresh_metrics();

 private:
  void on_wake(const std::string& payload);
  // heartbeat PINGs the wake connections every wake_ping: a subscriber whose connection
  // died silently (no FIN, no RST: a dead NAT entry, a frozen Redis) would otherwise never
  // hear a wake-up again; the unanswered PING breaks it (redis.read_timeout) and the
  // reconnect subscribes again and wakes every worker (redis/subscriber.h).
  boost::asio::awaitable<void> heartbeat();
  // renew_leases is the heartbeat on the leases (storage/lease.h): every renew_every it
  // renews the leases of every worker's deliveries in flight, until shutdown has drained
  // them; a dispatcher that dies stops renewing, and its leases run out within
  // dispatch.heartbeat_lease_ms.
  boost::asio::awaitable<void> renew_leases();
  // report writes this dispatcher's report every report_every (docs/storage.md,
  // "Dispatcher reports") until shutdown, which removes it.
  boost::asio::awaitable<void> report();
  // audit runs once at start: it logs (and counts, dmq_unserved_queue_messages) the queues
  // in Redis that no configured consumer serves (a consumer removed or renamed), and
  // releases into their queues the messages waiting in ordered buckets of consumers that
  // no ordered command uses any more (a command switched to unordered).
  boost::asio::awaitable<void> audit();

  boost::asio::any_io_executor ex_;
  const config::settings& cfg_;
  storage::store& store_;
  const storage::keys& keys_;
  http::client client_;
  redis::subscriber wake_;
  boost::asio::steady_timer heartbeat_timer_;
  boost::asio::steady_timer report_timer_;
  boost::asio::steady_timer renew_timer_;
  bool drained_ = false;  // shutdown released what was left: no more renewals
  std::string id_;        // "<host>:<pid>": names it in reports and attempt histories
  event_log events_;
  bool stopping_ = false;

 public:
  static constexpr std::chrono::milliseconds wake_ping{1000};
  static constexpr std::chrono::milliseconds report_every{2000};
  static constexpr std::chrono::milliseconds report_ttl{10000};
  const std::string& id() const { return id_; }

 private:
  std::vector<std::unique_ptr<consumer_worker>> workers_;
  std::vector<storage::queue_counts> counts_;  // per worker, as last read
  bool counts_known_ = false;                  // the last refresh_metrics() read them
  util::metrics* metrics_ = nullptr;
};

}  // namespace dmq::dispatch
