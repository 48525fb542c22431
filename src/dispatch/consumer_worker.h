// consumer_worker: delivers one consumer's due messages. It sleeps until the earliest due
// time of the consumer's queue (or a wake-up), claims due deliveries with a lease, POSTs
// each to the consumer concurrently (at most `concurrency` in flight, at most
// `rate_per_sec` started per second), and records each outcome: done, a retry scheduled
// in Redis (nobody sleeps), or failure into the pending list.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "config/config.h"
#include "dispatch/endpoint.h"
#include "dispatch/event_log.h"
#include "dispatch/rate_limiter.h"
#include "dispatch/recent_window.h"
#include "http/client.h"
#include "storage/store.h"
#include "util/metrics.h"

namespace dmq::dispatch {

class consumer_worker {
 public:
  // dispatcher_id names this process in the attempt history; outcomes go to events while
  // someone tails them. Both outlive the worker.
  consumer_worker(boost::asio::any_io_executor ex, storage::store& store, http::client& client,
                  const config::settings& cfg, const config::command& cmd,
                  const config::consumer& consumer, const std::string& dispatcher_id,
                  event_log& events);

  // run claims and delivers until stop().
  boost::asio::awaitable<void> run();
  // wake makes run() look at the queue now (a save moved its earliest due time earlier).
  void wake();
  // stop makes run() stop claiming; deliveries in flight go on.
  void stop();
  // drain waits until no delivery is in flight or deadline; then releases the leases of
  // deliveries still running, so another dispatcher takes them at once.
  boost::asio::awaitable<void> drain(std::chrono::steady_clock::time_point deadline);
  // renew is the heartbeat on this worker's leases (storage/lease.h): it extends the lease
  // of every delivery in flight that has used a quarter of it, up to the consumer's timeout
  // + dispatch.lease_margin_ms after its claim. The dispatcher calls it every
  // renew_every() while deliveries may be in flight; nothing when heartbeats are off.
  boost::asio::awaitable<void> renew();
  // renew_every: how often renew() must run (a quarter of dispatch.heartbeat_lease_ms; 0
  // when heartbeats are off).
  std::chrono::milliseconds renew_every() const;

  const config::consumer& consumer() const { return consumer_; }
  const config::command& command() const { return cmd_; }
  // in_flight: attempts sent and not yet answered (at most concurrency); leased: deliveries
  // claimed and not yet recorded (at most concurrency + dispatch.claim_ahead: those in
  // flight, those answered whose outcome is on its way to Redis, and those waiting for a
  // free slot or their due time); waiting: the latter; unrecorded: the answered ones.
  int in_flight() const { return sending_; }
  int leased() const { return static_cast<int>(in_flight_.size()); }
  int waiting() const { return static_cast<int>(waiting_.size()); }
  int unrecorded() const { return unrecorded_; }
  // paused says whether the last claim found the consumer paused (store::pause).
  bool paused() const { return paused_; }
  // recent returns the attempts of the last minute (for the dispatcher's reports).
  const recent_window& recent() const { return recent_; }
  // now_s: the clock of recent(), whole seconds.
  static std::int64_t now_s() { return steady_ms() / 1000; }

  // count_into registers this consumer's delivery metrics in m (docs/metrics.md).
  void count_into(util::metrics& m);

 private:
  static constexpr std::int64_t local_failure_delay_ms = 1000;

  // shares splits a claim's budget over the shards (as tags_): budget / K each, and
  // budget % K of them one more, starting one shard further each call.
  std::vector<int> shares(int budget);
  // full_lease_ms: the consumer's timeout + dispatch.lease_margin_ms, the longest a lease
  // runs after its claim; lease_ms: what a claim leases (shorter with heartbeats).
  std::int64_t full_lease_ms() const;
  std::int64_t lease_ms() const;

  // attempt_request: one attempt's request and the strings its headers view.
  struct attempt_request {
    http::client_request req;
    std::string id, attempt, due, seconds, signature;
  };
  void prepare(attempt_request& a, storage::claimed& c, std::int64_t now_ms) const;
  // until_due waits until due_ms (Redis's clock); false if the delivery (id, lease_until)
  // was released meanwhile (shutdown).
  boost::asio::awaitable<bool> until_due(std::int64_t due_ms, std::uint64_t id,
                                         std::int64_t lease_until);
  // pump starts the deliveries waiting for a slot, while fewer than concurrency are sent.
  void pump();
  // deliver waits until c is due (a delivery claimed ahead: dispatch.prefetch_ms), sends
  // it, frees its slot once answered, and hands the outcome to record_outcomes.
  boost::asio::awaitable<void> deliver(storage::claimed c, std::int64_t lease_until);
  // record_outcomes sends the outcomes waiting in outcomes_ to Redis, up to claim_batch in
  // one call (ack_batch-1), each with its current lease (again if a renewal moved the lease
  // under it; a lost lease is logged), until none waits. One runs at a time: outcomes that
  // come while a call is on its way go together in the next (a burst's, many at once).
  boost::asio::awaitable<void> record_outcomes();
  // observe counts an attempt's outcome in recent_ and, while someone tails, in the events;
  // returns its attempt history entry ("" when none is kept: a first-try success, or the
  // history is off).
  std::string observe(const storage::claimed& c, const http::client_response& res,
                      storage::outcome what, std::int64_t started, std::int64_t took_ms);
  // gave_up counts and logs the deliveries claim() dropped.
  void gave_up(const std::vector<storage::dropped>& dropped);
  boost::asio::awaitable<void> sleep(std::int64_t ms);
  static std::int64_t steady_ms();

  boost::asio::any_io_executor ex_;
  storage::store& store_;
  http::client& client_;
  const config::settings& cfg_;
  const config::command& cmd_;
  const config::consumer& consumer_;
  endpoint endpoint_;
  std::string trace_header_;  // "X-" + request_trace_id_key: the request_id's header
  boost::asio::steady_timer timer_;
  std::vector<std::string> tags_;  // the project's shards (storage/keys.h), claimed from in turn
  int next_shard_ = 0;             // the shard first in line for a claim's remainder
  // held: the lease of a delivery in flight: its score in the queue is one of token (as
  // last known), other (a renewal whose answer was lost may have set it) and pending (the
  // renewal on its way, if any), all ours; equal when nothing is uncertain. cap: the latest
  // a renewal may extend it to (its claim + the consumer's timeout + the lease margin).
  struct held {
    std::int64_t token = 0;
    std::int64_t other = 0;
    std::int64_t pending = 0;
    std::int64_t cap = 0;
    bool lost = false;  // a renewal found it lost (it ran out, another claim took it)
    int shard = 0;      // index in tags_ of the shard it was claimed from
    bool operator==(const held&) const = default;
  };
  // deliveries in flight, by (id, the claim's lease_until): keyed by the lease too, since a
  // delivery whose lease ran out may be claimed again while the late one still runs; each
  // must free only its own slot.
  using held_map = std::map<std::pair<std::uint64_t, std::int64_t>, held>;
  held_map in_flight_;
  // release gives back the leases of deliveries still in flight at shutdown (drain()).
  boost::asio::awaitable<void> release(const held_map& left);
  // claimed deliveries waiting for a slot (fewer than concurrency sent), in claim order,
  // with the claim's lease_until
  std::deque<std::pair<storage::claimed, std::int64_t>> waiting_;
  int sending_ = 0;  // attempts sent and not yet answered (or waiting for their due time)
  // to_record: an attempt answered, its outcome not yet recorded in Redis.
  struct to_record {
    std::pair<std::uint64_t, std::int64_t> key;  // in in_flight_
    storage::outcome what = storage::outcome::done;
    std::int64_t at = 0;           // retry: the next attempt's time; release: due again at
    std::int64_t timestamp_s = 0;  // failure: the pending list's score
    std::string bucket;            // an ordered command's bucket
    std::string entry;             // its attempt history entry, or empty
    int tries = 0;                 // calls that failed (Redis away)
    int shard = 0;                 // index in tags_ of its shard
  };
  std::deque<to_record> outcomes_;  // waiting for record_outcomes, oldest first
  // answered and not yet recorded (in outcomes_ or on their way): with sending_, at most
  // concurrency + claim_batch, the deliveries a dispatcher that dies may have made without
  // Redis knowing (the bound on duplicates, docs/delivery.md)
  int unrecorded_ = 0;
  bool recording_ = false;  // record_outcomes() runs
  std::mt19937_64 rng_{std::random_device{}()};
  const std::string& dispatcher_id_;
  event_log& events_;
  recent_window recent_{util::latency_buckets};
  bool stopping_ = false;
  bool renewing_ = false;  // a renew() call is on its way
  bool woken_ = false;
  bool paused_ = false;
  // counted, once count_into() was called: attempts by result, their durations, and how
  // late first attempts started
  std::uint64_t* done_ = nullptr;
  std::uint64_t* retried_ = nullptr;
  std::uint64_t* failed_ = nullptr;
  std::uint64_t* deferred_ = nullptr;  // not sent: this host's resources ran out
  util::histogram* duration_ = nullptr;
  util::histogram* lateness_ = nullptr;
  util::metrics* metrics_ = nullptr;  // for the dropped counters, made on first use
  rate_limiter limiter_;              // rate_per_sec, on the steady clock
};

}  // namespace dmq::dispatch
