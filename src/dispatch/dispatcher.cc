#include "dispatch/dispatcher.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <limits>
#include <set>

#include "dispatch/report.h"
#include "storage/id_source.h"
#include "storage/wake.h"
#include "util/spawn.h"

namespace asio = boost::asio;

namespace dmq::dispatch {

dispatcher::dispatcher(asio::any_io_executor ex, const config::settings& cfg, storage::store& store,
                       const storage::keys& keys, redis::options wake_connection,
                       const redis::cluster* cluster)
    : ex_(ex),
      cfg_(cfg),
      store_(store),
      keys_(keys),
      client_(ex),
      wake_(ex, std::move(wake_connection), cluster),
      heartbeat_timer_(ex),
      report_timer_(ex),
      renew_timer_(ex),
      id_(dispatcher_id()),
      events_(ex, store) {
  for (const auto& cmd : cfg.commands)
    for (const auto& c : cmd.consumers)
      workers_.push_back(
          std::make_unique<consumer_worker>(ex, store, client_, cfg, cmd, c, id_, events_));
  counts_.resize(workers_.size());
}

asio::awaitable<void> dispatcher::audit() {
  std::set<std::pair<std::string, std::string>> served, ordered;  // (project, consumer)
  std::vector<std::string> keys, ordered_keys;                    // their queues, every shard's
  for (const auto& cmd : cfg_.commands)
    for (const auto& c : cmd.consumers) {
      served.insert({cmd.project, c.name});
      if (cmd.ordered) ordered.insert({cmd.project, c.name});
      for (const auto& tag : keys_.tags(cmd.project)) {
        keys.push_back(keys_.queue(tag, c.name));
        if (cmd.ordered) ordered_keys.push_back(keys.back());
      }
    }
  // The registries know every queue some save wrote; these are known from now on even if
  // no save of this configuration has run yet.
  co_await store_.enlist(std::move(keys), false);
  co_await store_.enlist(std::move(ordered_keys), true);
  auto [ec, queues] = co_await store_.queues();
  if (ec) spdlog::warn("dispatcher: cannot look for unserved queues: {}", ec.message());
  for (const auto& q : queues) {
    if (q.size == 0 || served.count({q.project, q.consumer})) continue;
    spdlog::warn(
        "dispatcher: {} deliveries wait in the queue of consumer '{}' of project '{}', "
        "which no configured command has: they are not delivered until it is "
        "configured again (removed or renamed in a command file?)",
        q.size, q.consumer, q.project);
    if (metrics_)
      metrics_->gauge("dmq_unserved_queue_messages",
                      "Deliveries waiting in a queue that no configured consumer serves, as "
                      "found at start.",
                      {{"project", q.project}, {"consumer", q.consumer}},
                      [n = q.size] { return static_cast<double>(n); });
  }
  auto [ec2, released] = co_await store_.unbucket([&](const std::string& p, const std::string& c) {
    return !ordered.count({p, c});
  });
  if (ec2)
    spdlog::warn("dispatcher: cannot look for ordered buckets to release: {}", ec2.message());
  for (const auto& r : released)
    spdlog::warn(
        "dispatcher: released {} messages of consumer '{}' of project '{}' from their "
        "ordered buckets: its commands are no longer ordered",
        r.size, r.consumer, r.project);
}

void dispatcher::count_into(util::metrics& m) {
  metrics_ = &m;
  auto known = [this](std::int64_t n) {
    return counts_known_ ? static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
  };
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    workers_[i]->count_into(m);
    const util::label_set who{{"consumer", workers_[i]->consumer().name}};
    m.gauge("dmq_queue_messages",
            "Deliveries in the consumer's queue: waiting, in flight (leased) or retrying.", who,
            [known, this, i] { return known(counts_[i].queued); });
    // due and unleased in Redis, plus those claimed ahead that wait here for a slot
    m.gauge("dmq_queue_due_messages",
            "Deliveries due now and not yet sent: the backlog (0 when keeping up).", who,
            [known, this, i] { return known(counts_[i].due + workers_[i]->waiting()); });
    m.gauge("dmq_pending_messages", "Messages failed for good, in the consumer's pending list.",
            who, [known, this, i] { return known(counts_[i].pending); });
  }
}

asio::awaitable<void> dispatcher::refresh_metrics() {
  std::vector<std::pair<std::string_view, std::string_view>> queues;  // (project, consumer)
  for (const auto& w : workers_) queues.emplace_back(w->command().project, w->consumer().name);
  auto [ec, counts] = co_await store_.queue_stats(queues, store_.redis_clock().now_ms());
  counts_known_ = !ec && counts.size() == counts_.size();
  if (counts_known_) counts_ = std::move(counts);
}

consumer_worker* dispatcher::worker(std::string_view consumer) {
  for (auto& w : workers_)
    if (w->consumer().name == consumer) return w.get();
  return nullptr;
}

void dispatcher::on_wake(const std::string& payload) {
  if (auto* w = worker(storage::wake_consumer(payload))) w->wake();
}

void dispatcher::start() {
  std::set<std::string> channels;
  for (const auto& cmd : cfg_.commands)
    for (const auto& tag : keys_.tags(cmd.project)) channels.insert(keys_.wake_channel(tag));
  wake_.start(
      {channels.begin(), channels.end()},
      [this](const std::string&, const std::string& payload) { on_wake(payload); },
      [this] {
        // Wake-ups may have been missed while disconnected: every worker looks again.
        for (auto& w : workers_) w->wake();
      });
  util::spawn(ex_, heartbeat(), "wake heartbeat");
  util::spawn(ex_, audit(), "queue audit");
  util::spawn(ex_, report(), "dispatcher report");
  if (!workers_.empty() && workers_.front()->renew_every().count() > 0)
    util::spawn(ex_, renew_leases(), "lease heartbeat");
  util::spawn(ex_, events_.run(), "events tail check");
  for (auto& w : workers_) util::spawn(ex_, w->run(), "consumer worker");
  spdlog::info("dispatcher: {} consumers", workers_.size());
}

asio::awaitable<void> dispatcher::heartbeat() {
  while (!stopping_) {
    heartbeat_timer_.expires_after(wake_ping);
    co_await heartbeat_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopping_) break;
    co_await wake_.ping();
  }
}

asio::awaitable<void> dispatcher::renew_leases() {
  const auto every = workers_.front()->renew_every();
  while (!drained_) {
    renew_timer_.expires_after(every);
    co_await renew_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (drained_) break;
    for (auto& w : workers_) co_await w->renew();
  }
}

asio::awaitable<void> dispatcher::report() {
  while (!stopping_) {
    auto json = report_json(id_, store_.redis_clock().now_ms(), consumer_worker::now_s(), workers_);
    if (auto ec =
            co_await store_.report(id_, json, store_.redis_clock().now_ms(), report_ttl.count()))
      spdlog::debug("dispatcher: report not written: {}", ec.message());
    if (stopping_) break;  // shutdown began meanwhile: its unreport must stay the last word
    report_timer_.expires_after(report_every);
    co_await report_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<void> dispatcher::shutdown(std::chrono::milliseconds deadline) {
  stopping_ = true;
  heartbeat_timer_.cancel();
  report_timer_.cancel();
  events_.stop();
  for (auto& w : workers_) w->stop();
  auto until = std::chrono::steady_clock::now() + deadline;
  for (auto& w : workers_) co_await w->drain(until);
  drained_ = true;
  renew_timer_.cancel();
  if (auto ec = co_await store_.unreport(id_))
    spdlog::warn("dispatcher: report not removed ({}): it expires in {} s", ec.message(),
                 report_ttl.count() / 1000);
  wake_.stop();
}

}  // namespace dmq::dispatch
