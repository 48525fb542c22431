#include "dispatch/consumer_worker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "dispatch/attempt_entry.h"
#include "dispatch/rate_limiter.h"
#include "dispatch/retry_policy.h"
#include "dispatch/webhook_signature.h"
#include "storage/acks.h"
#include "storage/id_source.h"
#include "storage/lease.h"
#include "util/spawn.h"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace dmq::dispatch {

consumer_worker::consumer_worker(asio::any_io_executor ex, storage::store& store,
                                 http::client& client, const config::settings& cfg,
                                 const config::command& cmd, const config::consumer& consumer,
                                 const std::string& dispatcher_id, event_log& events)
    : ex_(ex),
      store_(store),
      client_(client),
      cfg_(cfg),
      cmd_(cmd),
      consumer_(consumer),
      endpoint_(parse_endpoint(consumer)),
      trace_header_("X-" + cfg.request_trace_id_key),
      timer_(ex),
      tags_(store.key_names().tags(cmd.project)),
      dispatcher_id_(dispatcher_id),
      events_(events),
      limiter_(consumer.rate_per_sec, steady_ms()) {}

void consumer_worker::wake() {
  woken_ = true;
  timer_.cancel();
}

void consumer_worker::stop() {
  stopping_ = true;
  timer_.cancel();
}

asio::awaitable<void> consumer_worker::sleep(std::int64_t ms) {
  if (woken_ || ms <= 0) co_return;
  timer_.expires_after(std::chrono::milliseconds(ms));
  co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
}

std::int64_t consumer_worker::steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::int64_t consumer_worker::full_lease_ms() const {
  return static_cast<std::int64_t>(consumer_.timeout_ms) + cfg_.dispatch.lease_margin_ms;
}

std::int64_t consumer_worker::lease_ms() const {
  const std::int64_t h = cfg_.dispatch.heartbeat_lease_ms;
  return h > 0 ? std::min(h, full_lease_ms()) : full_lease_ms();
}

std::chrono::milliseconds consumer_worker::renew_every() const {
  return std::chrono::milliseconds(std::max(cfg_.dispatch.heartbeat_lease_ms / 4, 0));
}

std::vector<int> consumer_worker::shares(int budget) {
  const int k = static_cast<int>(tags_.size());
  std::vector<int> share(tags_.size(), budget / k);
  for (int i = 0; i < budget % k; ++i)  // the remainder: one more each, in turn
    ++share[static_cast<std::size_t>((next_shard_ + i) % k)];
  next_shard_ = (next_shard_ + 1) % k;
  return share;
}

asio::awaitable<void> consumer_worker::run() {
  const auto lease_ms = this->lease_ms();
  const auto full_lease_ms = this->full_lease_ms();
  const std::int64_t prefetch = cfg_.dispatch.prefetch_ms;
  auto& clock = store_.redis_clock();
  while (!stopping_) {
    woken_ = false;
    // While concurrency attempts run, up to claim_ahead more wait in this process for a slot
    // (or their due time), so a burst never waits for a claim.
    int room = claim_room(consumer_.concurrency + cfg_.dispatch.claim_ahead, leased());
    int budget = std::min({room, cfg_.dispatch.claim_batch, limiter_.budget(steady_ms())});
    if (budget <= 0) {  // wait for deliveries to finish, or for the rate limit to refill
      // No conditional expression around co_await here: GCC 12 evaluates both arms.
      std::int64_t ms = cfg_.dispatch.max_idle_ms;
      if (room > 0 && limiter_.limited()) ms = limiter_.wait_ms();
      co_await sleep(ms);
      continue;
    }
    // A sharded project: each shard gets a fair share of the budget (shares(): the
    // remainder to other shards each round; 0 still answers its next due time) and of a
    // shared rate (claim-1 counts it per shard), all claimed in one round trip.
    const int shards = static_cast<int>(tags_.size());
    const auto share = shares(budget);
    auto shared = consumer_.rate_shared ? (consumer_.rate_per_sec + shards - 1) / shards : 0;
    // On Redis's clock: due times and leases are decided on one clock for every dispatcher.
    // Ahead by prefetch_ms: each is sent at its due time, but its claim is done already.
    const auto now = clock.now_ms();
    auto [ec, batches] = co_await store_.claim_shards(tags_, consumer_.name, now, lease_ms, share,
                                                      shared, now + prefetch);
    if (ec) {
      co_await sleep(200);  // Redis is away; the connection reconnects by itself
      continue;
    }
    std::int64_t next_due = -1;
    bool more = false, failed = false;
    paused_ = false;
    for (std::size_t s = 0; s < batches.size(); ++s) {
      auto& batch = batches[s];
      failed = failed || static_cast<bool>(batch.error);  // that shard's master is away
      paused_ = paused_ || batch.paused;
      if (batch.next_due_ms >= 0 && (next_due < 0 || batch.next_due_ms < next_due))
        next_due = batch.next_due_ms;
      // maybe more are due (a shard asked for none: next_due says when it has some)
      more = more || (share[s] > 0 && static_cast<int>(batch.items.size()) == share[s]);
      limiter_.spend(static_cast<int>(batch.items.size()));
      if (!batch.dropped.empty()) gave_up(batch.dropped);
      // the claim's time on Redis's clock: claim-1 leased until then + lease_ms
      const auto claimed_at = batch.lease_until - lease_ms;
      for (auto& c : batch.items) {
        const auto l = batch.lease_until;
        c.shard = static_cast<int>(s);
        in_flight_.emplace(std::make_pair(c.id, l),
                           held{l, l, l, claimed_at + full_lease_ms, false, c.shard});
        waiting_.emplace_back(std::move(c), l);
      }
    }
    pump();
    if (paused_) {  // until resume's wake-up (or a look every max_idle_ms)
      co_await sleep(cfg_.dispatch.max_idle_ms);
      continue;
    }
    if (more) continue;
    auto wait = next_due < 0 ? cfg_.dispatch.max_idle_ms
                             : std::min<std::int64_t>(next_due - prefetch - clock.now_ms(),
                                                      cfg_.dispatch.max_idle_ms);
    if (failed) wait = std::min<std::int64_t>(wait, 200);
    co_await sleep(wait);
  }
}

// prepare fills a with the request of one attempt of c, started at now_ms (Redis's clock).
// Not a coroutine: the strings the headers view live in a, which the caller keeps in place.
void consumer_worker::prepare(attempt_request& a, storage::claimed& c, std::int64_t now_ms) const {
  auto& req = a.req;
  req.host = endpoint_.host;
  req.port = endpoint_.port;
  req.tls = endpoint_.tls;
  req.ca_file = consumer_.ca_file.string();
  req.tls_verify = consumer_.tls_verify;
  req.target = endpoint_.target(c.id, c.attempt - 1);
  req.body = std::move(c.params);
  req.timeout = std::chrono::milliseconds(consumer_.timeout_ms);
  req.keep_body = cfg_.dispatch.attempt_history > 0
                      ? static_cast<std::size_t>(cfg_.dispatch.attempt_answer_bytes)
                      : 0;
  a.id = std::to_string(c.id);
  a.attempt = std::to_string(c.attempt);
  a.due = std::to_string(c.due_ms);
  req.headers = {{"Content-Type", "application/json; charset=utf-8"},
                 {"User-Agent", "dmq"},
                 {"X-Dmq-Message-Id", a.id},
                 {"X-Dmq-Attempt", a.attempt},
                 {"X-Dmq-Scheduled-At", a.due}};
  if (!c.request_id.empty()) req.headers.push_back({trace_header_, c.request_id});
  if (consumer_.signing_secrets.empty()) return;
  // Standard Webhooks (docs/security.md): the same id on every attempt, the attempt's time
  // on Redis's clock (the one that decides due times), signed with every secret.
  a.seconds = std::to_string(now_ms / 1000);
  a.signature = webhook_signature(a.id, now_ms / 1000, req.body, consumer_.signing_secrets);
  req.headers.push_back({"webhook-id", a.id});
  req.headers.push_back({"webhook-timestamp", a.seconds});
  req.headers.push_back({"webhook-signature", a.signature});
}

asio::awaitable<bool> consumer_worker::until_due(std::int64_t due_ms, std::uint64_t id,
                                                 std::int64_t lease_until) {
  asio::steady_timer t(ex_, std::chrono::milliseconds(due_ms - store_.redis_clock().now_ms()));
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return in_flight_.count({id, lease_until}) > 0;
}

void consumer_worker::pump() {
  // At most concurrency attempts sent and not answered (the consumer's protection), and at
  // most claim_batch more answered whose outcome Redis does not know yet: what a dispatcher
  // that dies may have delivered without Redis knowing (the bound on duplicates).
  const int unrecorded_max = consumer_.concurrency + std::max(cfg_.dispatch.claim_batch, 1);
  while (sending_ < consumer_.concurrency && sending_ + unrecorded_ < unrecorded_max &&
         !waiting_.empty()) {
    auto [c, l] = std::move(waiting_.front());
    waiting_.pop_front();
    ++sending_;
    util::spawn(ex_, deliver(std::move(c), l), "deliver");
  }
}

asio::awaitable<void> consumer_worker::deliver(storage::claimed c, std::int64_t lease_until) {
  auto& clock = store_.redis_clock();
  // Claimed ahead (dispatch.prefetch_ms): sent at its due time, as the lateness counts it.
  if (c.queued_ms > clock.now_ms() && !co_await until_due(c.queued_ms, c.id, lease_until)) {
    --sending_;  // released by drain() meanwhile
    co_return;
  }
  auto started = clock.now_ms();
  attempt_request a;
  prepare(a, c, started);
  const auto& req = a.req;
  auto t0 = std::chrono::steady_clock::now();
  auto res = co_await client_.post(req);
  bool ok = res.status >= 200 && res.status < 300;
  auto now = clock.now_ms();
  auto took = std::chrono::steady_clock::now() - t0;
  if (duration_) {
    duration_->observe(std::chrono::duration<double>(took).count());
    // Late by the time this attempt was queued for: a first attempt's due time, or the
    // time of a manual /retry (which starts again at attempt 1), not the original due time.
    if (c.attempt == 1) lateness_->observe(static_cast<double>(started - c.queued_ms) / 1000.0);
  }
  storage::outcome what = storage::outcome::done;
  std::int64_t at = 0;
  if (res.local) {
    // This host ran out of descriptors or memory before anything was sent: the attempt is
    // given back and the delivery is due again in a second, its retries untouched.
    what = storage::outcome::release;
    at = now + local_failure_delay_ms;
    spdlog::error("deliver {} to {}: not sent ({}): due again in {} ms, no attempt counted", c.id,
                  consumer_.name, res.error, local_failure_delay_ms);
  } else if (!ok) {
    auto delay = next_retry_delay(consumer_, c.attempt, rng_);
    what = delay ? storage::outcome::retry : storage::outcome::failure;
    at = delay ? now + *delay : 0;
    auto why = res.status ? "HTTP " + std::to_string(res.status) : res.error;
    if (delay)
      spdlog::warn("deliver {} to {}: attempt {} failed ({}), retry in {} ms", c.id, consumer_.name,
                   c.attempt, why, *delay);
    else
      spdlog::error("deliver {} to {}: attempt {} failed ({}), no retries left: pending", c.id,
                    consumer_.name, c.attempt, why);
  } else if (!cfg_.log.disable_success_log) {
    spdlog::info("deliver {} to {}: done (attempt {}, {} ms after due)", c.id, consumer_.name,
                 c.attempt, now - c.due_ms);
  }
  if (done_)
    ++*(res.local ? deferred_ : ok ? done_ : what == storage::outcome::retry ? retried_ : failed_);
  to_record o{{c.id, lease_until}, what, at, c.due_ms / 1000, {}, {}, 0, c.shard};
  if (!res.local)
    o.entry = observe(c, res, what, started,
                      std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
  if (cmd_.ordered) o.bucket = std::move(c.bucket);
  // Its slot goes to the next delivery at once; the outcome goes to Redis with the others
  // that are waiting (record_outcomes), and the delivery stays leased until it is recorded.
  outcomes_.push_back(std::move(o));
  ++unrecorded_;
  --sending_;
  if (!recording_) {
    recording_ = true;
    util::spawn(ex_, record_outcomes(), "record outcomes");
  }
  pump();
}

asio::awaitable<void> consumer_worker::record_outcomes() {
  // The outcome must reach Redis, or the lease runs out and the delivery is made again.
  const auto most = static_cast<std::size_t>(std::max(cfg_.dispatch.claim_batch, 1));
  std::vector<to_record> batch;
  std::vector<held> sent;
  std::vector<storage::ack_item> items;
  std::vector<std::size_t> at;  // items[j] is batch[at[j]]
  std::vector<bool> failed, recorded;
  std::deque<to_record> again;
  while (!outcomes_.empty()) {
    batch.clear();
    sent.clear();
    items.clear();
    while (!outcomes_.empty() && batch.size() < most) {
      auto o = std::move(outcomes_.front());
      outcomes_.pop_front();
      auto it = in_flight_.find(o.key);
      if (it == in_flight_.end()) {  // released by drain()
        --unrecorded_;
        continue;
      }
      sent.push_back(it->second);
      batch.push_back(std::move(o));
    }
    if (batch.empty()) break;
    // One call per shard with outcomes (a project without shards: one call).
    std::error_code ec;
    failed.assign(batch.size(), false);
    recorded.assign(batch.size(), false);
    for (std::size_t s = 0; s < tags_.size(); ++s) {
      items.clear();
      at.clear();
      for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto& o = batch[i];
        if (std::cmp_not_equal(o.shard, s)) continue;
        const auto& h = sent[i];
        // Every score that may be ours goes along (two; the third, a renewal on its way, is
        // caught by the check below).
        items.push_back({o.key.first, h.token, h.pending != h.token ? h.pending : h.other, o.what,
                         o.at, o.timestamp_s, o.bucket, o.entry});
        at.push_back(i);
      }
      if (items.empty()) continue;
      auto [e, r] = co_await storage::ack_batch(store_, tags_[s], consumer_.name, items,
                                                cfg_.dispatch.attempt_history);
      if (e) ec = e;
      for (std::size_t j = 0; j < at.size(); ++j) {
        failed[at[j]] = static_cast<bool>(e);
        recorded[at[j]] = !e && r[j];
      }
    }
    again.clear();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto& o = batch[i];
      auto it = in_flight_.find(o.key);
      if (it == in_flight_.end()) {  // released by drain() meanwhile
        --unrecorded_;
        continue;
      }
      if (failed[i]) {
        // Redis is away: again in 100 ms, for 5 s; then the lease runs out and the delivery
        // is made again.
        if (++o.tries < 50) {
          again.push_back(std::move(o));
          continue;
        }
        spdlog::warn("deliver {} to {}: outcome not recorded ({}): it will be made again",
                     o.key.first, consumer_.name, ec.message());
      } else if (!recorded[i]) {
        // A renewal moved the lease meanwhile: again, with the lease as it is now.
        if (!it->second.lost && !(it->second == sent[i])) {
          again.push_back(std::move(o));
          continue;
        }
        spdlog::warn("deliver {} to {}: lease ran out before the outcome was recorded", o.key.first,
                     consumer_.name);
      }
      in_flight_.erase(it);
      --unrecorded_;
    }
    // those to send again go first, in their order
    while (!again.empty()) {
      outcomes_.push_front(std::move(again.back()));
      again.pop_back();
    }
    pump();
    wake();  // room for more claims (a flag too, in case run() is not asleep right now)
    if (ec) {
      asio::steady_timer t(ex_, 100ms);
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
  recording_ = false;
}

asio::awaitable<void> consumer_worker::renew() {
  const std::int64_t h = cfg_.dispatch.heartbeat_lease_ms;
  if (h <= 0 || in_flight_.empty() || renewing_) co_return;
  const auto now = store_.redis_clock().now_ms();
  std::vector<storage::held_lease> leases;
  std::vector<std::pair<std::uint64_t, std::int64_t>> keys;
  std::vector<int> shard;
  for (auto& [k, l] : in_flight_) {
    if (l.lost || l.token - now > h - h / 4) continue;  // not a quarter of it used yet
    auto to = std::min(now + h, l.cap);
    if (to <= l.token) continue;  // at its cap: it runs out there, as without heartbeats
    l.pending = to;
    leases.push_back({k.first, to, l.token, l.other});
    keys.push_back(k);
    shard.push_back(l.shard);
  }
  if (leases.empty()) co_return;
  renewing_ = true;
  // One renew-1 call per shard, in turn (a heartbeat: not on a delivery's path).
  enum class answer { lost, renewed, unknown };
  std::vector<answer> got(leases.size(), answer::lost);
  std::error_code ec;
  for (std::size_t s = 0; s < tags_.size(); ++s) {
    std::vector<storage::held_lease> mine;
    std::vector<std::size_t> at;
    for (std::size_t i = 0; i < leases.size(); ++i)
      if (std::cmp_equal(shard[i], s)) {
        mine.push_back(leases[i]);
        at.push_back(i);
      }
    if (mine.empty()) continue;
    auto [e, renewed] = co_await storage::renew(store_, tags_[s], consumer_.name, mine);
    if (e) ec = e;
    for (std::size_t j = 0; j < at.size(); ++j)
      got[at[j]] = e                                  ? answer::unknown
                   : j < renewed.size() && renewed[j] ? answer::renewed
                                                      : answer::lost;
  }
  renewing_ = false;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto it = in_flight_.find(keys[i]);
    if (it == in_flight_.end()) continue;  // acknowledged meanwhile
    auto& l = it->second;
    if (got[i] == answer::unknown) {  // its answer is lost: the score is the old one or the new one
      if (l.token == l.other) l.other = l.pending;
      l.pending = l.token;
    } else if (got[i] == answer::renewed) {
      l.token = l.other = l.pending;
    } else {
      l.lost = true;
      l.pending = l.token;
    }
  }
  if (ec) spdlog::debug("{}: leases not renewed: {}", consumer_.name, ec.message());
}

std::string consumer_worker::observe(const storage::claimed& c, const http::client_response& res,
                                     storage::outcome what, std::int64_t started,
                                     std::int64_t took_ms) {
  bool ok = what == storage::outcome::done;
  auto s = now_s();
  if (ok)
    recent_.done(s);
  else
    recent_.failed(s);
  if (c.attempt == 1) recent_.late(s, static_cast<double>(started - c.queued_ms) / 1000.0);
  std::string_view name = ok ? "done" : what == storage::outcome::retry ? "retry" : "failure";
  auto kind = error_kind(res.status, res.error);
  if (events_.on())
    events_.add({store_.redis_clock().now_ms(), cmd_.project, consumer_.name, c.id, c.attempt, name,
                 res.status, std::string(kind), took_ms});
  // A first-try success keeps nothing: the record already says done after 1 attempt.
  if (cfg_.dispatch.attempt_history <= 0 || (ok && c.attempt == 1)) return {};
  return to_json({c.attempt, started, took_ms, name, res.status, kind, res.body, dispatcher_id_},
                 static_cast<std::size_t>(cfg_.dispatch.attempt_answer_bytes));
}

void consumer_worker::gave_up(const std::vector<storage::dropped>& dropped) {
  // Each is counted and logged with its id; the log's rate limit (app/log_sinks.h) keeps a
  // flood of them to a few lines a minute.
  for (const auto& d : dropped) {
    if (metrics_)
      ++metrics_->counter(
          "dmq_deliveries_dropped_total",
          "Deliveries given up on without an attempt, by reason: missing (no "
          "record: expired or deleted), revoked (its producer was told not "
          "saved), consumer (the record has no entry for this consumer), "
          "expired (its data expired before delivery: a failure, pending).",
          {{"project", cmd_.project}, {"consumer", consumer_.name}, {"reason", d.why}});
    spdlog::warn("deliver {} to {}: given up without an attempt: {}", d.id, consumer_.name,
                 d.why == "missing"    ? "its record is gone (expired or deleted)"
                 : d.why == "revoked"  ? "its producer was told it was not saved"
                 : d.why == "consumer" ? "its record has no entry for this consumer"
                 : d.why == "expired"  ? "its data expired before delivery (now pending)"
                                       : d.why);
  }
}

void consumer_worker::count_into(util::metrics& m) {
  metrics_ = &m;
  const util::label_set who{{"consumer", consumer_.name}};
  auto attempts = [&](std::string_view result) -> std::uint64_t& {
    return m.counter("dmq_delivery_attempts_total",
                     "Delivery attempts by result: done (2xx), retry (failed, retry scheduled), "
                     "failure (failed, no retries left: pending).",
                     {{"consumer", consumer_.name}, {"result", result}});
  };
  done_ = &attempts("done");
  retried_ = &attempts("retry");
  failed_ = &attempts("failure");
  deferred_ = &m.counter("dmq_deliveries_deferred_total",
                         "Deliveries not sent for want of this host's descriptors or memory "
                         "(EMFILE, ENFILE, ENOBUFS, ENOMEM): due again in a second, no attempt "
                         "counted.",
                         {{"consumer", consumer_.name}});
  duration_ = &m.histo("dmq_delivery_duration_seconds",
                       "Time from sending an attempt to its answer (or its failure).",
                       util::latency_buckets, who);
  lateness_ = &m.histo("dmq_delivery_lateness_seconds",
                       "How long after its due time a message's first attempt was sent.",
                       util::latency_buckets, who);
  m.gauge("dmq_deliveries_in_flight", "Attempts sent and not yet answered.", who,
          [this] { return static_cast<double>(in_flight()); });
  m.gauge("dmq_consumer_paused",
          "1 while the consumer is paused (POST /api/consumer/pause): nothing new is claimed.",
          {{"project", cmd_.project}, {"consumer", consumer_.name}},
          [this] { return paused_ ? 1.0 : 0.0; });
}

asio::awaitable<void> consumer_worker::drain(std::chrono::steady_clock::time_point deadline) {
  asio::steady_timer t(ex_);
  while (!in_flight_.empty() && std::chrono::steady_clock::now() < deadline) {
    t.expires_after(5ms);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  auto left = std::move(in_flight_);
  in_flight_.clear();
  waiting_.clear();  // released below with the rest
  co_await release(left);
  if (!left.empty())
    spdlog::warn("{}: released {} deliveries still running at shutdown", consumer_.name,
                 left.size());
}

asio::awaitable<void> consumer_worker::release(const held_map& left) {
  // One ack_batch-1 call per shard and claim_batch leases.
  const auto most = static_cast<std::size_t>(std::max(cfg_.dispatch.claim_batch, 1));
  std::vector<storage::ack_item> items;
  items.reserve(std::min(most, left.size()));
  for (std::size_t s = 0; s < tags_.size(); ++s) {
    auto it = left.begin();
    while (it != left.end()) {
      items.clear();
      const auto now = store_.redis_clock().now_ms();
      for (; it != left.end() && items.size() < most; ++it) {
        const auto& [k, l] = *it;
        if (std::cmp_not_equal(l.shard, s)) continue;
        items.push_back({k.first,
                         l.token,
                         l.pending != l.token ? l.pending : l.other,
                         storage::outcome::release,
                         now,
                         0,
                         {},
                         {}});
      }
      if (!items.empty()) co_await storage::ack_batch(store_, tags_[s], consumer_.name, items, 0);
    }
  }
}

}  // namespace dmq::dispatch
