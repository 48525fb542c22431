// store: every read and write of messages in Redis, as Lua scripts and plain commands
// over one pipelined connection. Key names come from keys.h; the schema is docs/storage.md.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "model/message.h"
#include "redis/connection.h"
#include "storage/clock.h"
#include "storage/keys.h"
#include "storage/record.h"
#include "storage/scripts.h"
#include "util/metrics.h"

namespace dmq::storage {

// to_save: a message and the consumers it is to be delivered to.
struct to_save {
  const model::message* msg;
  std::span<const std::string> consumers;
  bool ordered = false;  // its command delivers each bucket in order
  // > 0: msg->idempotency_key is kept this long, and a message saved with the same key in
  // that time is not stored: *same_as gets the id of the one that was.
  std::int64_t idempotency_ttl_ms = 0;
  std::uint64_t* same_as = nullptr;
  // true: a message with a request_id joins its project's find index (keys::find_index).
  bool find_index = false;

  bool keyed() const { return idempotency_ttl_ms > 0 && !msg->idempotency_key.empty(); }
  bool indexed() const { return find_index && !msg->request_id.empty(); }
};

struct pending_entry {
  std::int64_t score;  // the message's timestamp, seconds
  std::string member;  // the message id
};

struct pending_page {
  std::int64_t count = 0;  // size of the whole pending list
  std::vector<pending_entry> list;
};

template <class T>
using result = std::pair<std::error_code, T>;

// claimed: one delivery claimed by claim(), leased until claim_batch::lease_until.
struct claimed {
  std::uint64_t id = 0;
  int attempt = 1;  // 1 for the first try
  std::int64_t due_ms = 0;
  std::string params;
  std::string request_id;
  std::string bucket;
  std::int64_t queued_ms = 0;  // when this attempt was due: the due time, a retry's, a /retry's
  int shard = 0;               // the dispatcher's: which of the project's shards it came from
};

// dropped: a queued delivery that claim() gave up on, and why (claim-1.lua): "missing"
// (no record), "revoked" (its producer was told "not saved"), "consumer" (the record has no
// entry for this consumer), "expired" (its data expired before delivery: now a failure).
struct dropped {
  std::uint64_t id = 0;
  std::string why;
};

struct claim_batch {
  std::error_code error;          // claim_shards: this shard's claim failed (nothing claimed)
  std::int64_t next_due_ms = -1;  // earliest score left in the queue, -1 if empty
  bool paused = false;            // the consumer is paused: nothing was claimed
  std::int64_t lease_until = 0;
  std::int64_t redis_us = 0;  // Redis's TIME during the claim (µs)
  std::vector<claimed> items;
  std::vector<storage::dropped> dropped;
};

// queue_counts: one consumer's queue as /metrics shows it.
struct queue_counts {
  std::int64_t queued = 0;   // ids in its queue: waiting, leased (in flight) or retrying
  std::int64_t due = 0;      // of those, due now and not leased: the backlog
  std::int64_t pending = 0;  // failed for good, in its pending list
};

// outcome: what became of a delivery attempt (see ack-2.lua).
enum class outcome { done, retry, failure, release };

// retry_policy: how the store retries a command whose connection broke (redis.max_retries,
// redis.min_retry_backoff, redis.max_retry_backoff).
struct retry_policy {
  int max_retries = 3;
  int min_backoff_ms = 8;
  int max_backoff_ms = 400;
};

// replication: how many replicas must have a save before it is answered (redis.wait_replicas,
// redis.wait_timeout_ms); 0: none (WAIT is not sent).
struct replication {
  int replicas = 0;
  int timeout_ms = 1000;
};

// Shards (keys.h): the functions below that take a project find its shards themselves: a
// lookup by id looks in every shard at once (in one round trip), a consumer's lists and
// counts are those of all its shards together. claim, claim_shards, ack and renew
// (lease.h) take one shard's tag (keys::tag): a dispatcher claims from each.
class store {
 public:
  // max_per_script bounds how many messages one save script stores, so Redis stays responsive.
  static constexpr std::size_t max_per_script = 100;

  // data_ttl: how long a message's data is kept after its due time (msg_save_days, or
  // msg_save_seconds); its record with the statuses is kept twice as long.
  store(redis::client& conn, const keys& k, script_set& scripts, std::chrono::milliseconds data_ttl,
        retry_policy retry = {}, replication repl = {});

  // load_scripts SCRIPT LOADs every script.
  static boost::asio::awaitable<std::error_code> load_scripts(redis::connection& conn,
                                                              script_set& scripts);
  // on_connect is the connection's on_connect: it loads the scripts, reads Redis's clock
  // (so that the first claim is already on it), undoes the claims
  // whose answer was lost (nobody is delivering those), then revokes the saves answered
  // "not saved" whose outcome was unknown, before anything else runs on the new connection
  // (so no claim of this process comes first). In a cluster it runs on each master's
  // connection; the undoing and revoking, whose keys may live on any master, then run
  // right after that connection is ready (docs/scaling.md).
  boost::asio::awaitable<std::error_code> on_connect(redis::connection& conn);

  // save stores msgs (any projects) in one round trip; returns one error code per message.
  // Every answer is the truth: no error means stored; an error means not stored, and then
  // it never will be. Saves are idempotent (SET NX, ZADD NX), so a retry after a broken
  // connection never resets a message delivered in between. When Redis timed out or the
  // connection broke after the save was sent, settle-1 finds out whether it went through
  // (confirm) if Redis answers within confirm_bound; else the messages are answered "not
  // saved" and revoked (settle-1 revoke) by on_connect, first thing on the next connection.
  // errc::out_of_memory: Redis is at maxmemory (noeviction) and refused the save.
  // errc::not_replicated: replication.replicas replicas did not confirm it in time (WAIT),
  // and it was revoked.
  boost::asio::awaitable<std::vector<std::error_code>> save(std::span<const to_save> msgs);

  // count_into registers the store's metrics in m (docs/metrics.md).
  void count_into(util::metrics& m);

  // load returns a message's record (data and statuses), nullopt if there is none; tag (if
  // given) gets the tag of the shard holding it.
  boost::asio::awaitable<result<std::optional<record>>> load(std::string_view project,
                                                             std::uint64_t id,
                                                             std::string* tag = nullptr);
  // status returns a consumer's status of a message, nullopt if there is none.
  boost::asio::awaitable<result<std::optional<std::string>>> status(std::string_view project,
                                                                    std::uint64_t id,
                                                                    std::string_view consumer);
  // detail returns the stored message, nullopt if there is none (unknown, or its data
  // expired: msg_save_days after its due time).
  boost::asio::awaitable<result<std::optional<model::message>>> detail(std::string_view project,
                                                                       std::uint64_t id);
  // pending returns up to limit ids of a consumer's failed messages with timestamps in
  // [start_s, end_s], oldest first, and the size of the whole list.
  boost::asio::awaitable<result<pending_page>> pending(std::string_view project,
                                                       std::string_view consumer,
                                                       std::int64_t start_s, std::int64_t end_s,
                                                       int limit);
  // solved marks failed messages done and removes them from the pending list;
  // returns per id whether it was pending (or failed) and is now solved.
  boost::asio::awaitable<result<std::vector<bool>>> solved(std::string_view project,
                                                           std::string_view consumer,
                                                           std::span<const std::uint64_t> ids);

  // claim leases up to max of a consumer's due deliveries due at now_ms for lease_ms
  // (claim-1.lua); dispatchers pass redis_clock().now_ms(), and the claim's answer carries
  // Redis's TIME, which keeps that clock right. shared_rate > 0 also caps the attempts
  // started per second by all dispatchers together. A claim whose answer is lost is undone
  // by on_connect (unclaim-1.lua). horizon_ms > now_ms claims what is due until then too.
  boost::asio::awaitable<result<claim_batch>> claim(std::string_view project,
                                                    std::string_view consumer, std::int64_t now_ms,
                                                    std::int64_t lease_ms, int max,
                                                    int shared_rate = 0,
                                                    std::int64_t horizon_ms = 0);
  // claim_shards claims from each of tags (shards of one project) at once, in one round
  // trip (in a cluster, to every master concurrently), up to max[i] from tags[i]; one batch
  // per tag, in order, with its own error when that shard's claim failed.
  boost::asio::awaitable<result<std::vector<claim_batch>>> claim_shards(
      std::span<const std::string> tags, std::string_view consumer, std::int64_t now_ms,
      std::int64_t lease_ms, std::span<const int> max, int shared_rate = 0,
      std::int64_t horizon_ms = 0);
  // redis_clock returns Redis's time as this process knows it (storage/clock.h).
  storage::clock& redis_clock() { return clock_; }
  // queue_stats returns the stats of each (project, consumer), in one round trip.
  boost::asio::awaitable<result<std::vector<queue_counts>>> queue_stats(
      std::span<const std::pair<std::string_view, std::string_view>> consumers,
      std::int64_t now_ms);

  // ack records an attempt's outcome if the lease is still ours; returns whether it was.
  // at_ms: next attempt (retry) or due again (release). timestamp_s: the pending score.
  // ordered_bucket: the message's bucket when its command is ordered (done and failure
  // then move the bucket on to its next message). history: an entry of the attempt
  // history (compact JSON, no newline; docs/storage.md), appended to the consumer's
  // history of the message, of which the last keep entries are kept; empty: none.
  // other_lease: another lease_until that is ours (a renewal's, storage/lease.h), or 0.
  boost::asio::awaitable<result<bool>> ack(std::string_view project, std::string_view consumer,
                                           std::uint64_t id, std::int64_t lease_until, outcome what,
                                           std::int64_t at_ms, std::int64_t timestamp_s,
                                           const std::string* ordered_bucket = nullptr,
                                           std::string_view history = {}, int keep = 0,
                                           std::int64_t other_lease = 0);

  // queue_size: one consumer queue found in Redis.
  struct queue_size {
    std::string project, consumer;
    std::int64_t size = 0;
  };
  // queues returns every consumer queue in Redis with its size (for start-up checks: from
  // the queue registry, after one SCAN of the keyspace if it was never filled: known());
  // a sharded project's shards count as one queue (a shard no longer configured is named
  // by its tag, "<project>~<s>").
  boost::asio::awaitable<result<std::vector<queue_size>>> queues();
  // unbucket releases into its consumer's queue every ordered bucket for which
  // release(project, consumer) says so (SCAN, then unbucket-2.lua per bucket; no SCAN when
  // no queue of the ordered registry is to be released); returns the (project, consumer)
  // released, with how many messages each.
  boost::asio::awaitable<result<std::vector<queue_size>>> unbucket(
      const std::function<bool(const std::string&, const std::string&)>& release);

  // known_queues: the queue keys of the registries (keys::queue_registry, ordered_registry).
  struct known_queues {
    std::vector<std::string> queues, ordered;
  };
  // known reads the registries; when keys::registry_complete is missing (a Redis written by
  // a dmq without them, or emptied) it first SCANs the keyspace for queues and buckets,
  // adds what it found and sets it.
  boost::asio::awaitable<result<known_queues>> known();
  // enlist adds queue keys to the queue registry (and the ordered one), those this process
  // has not added yet; a failure is only logged (the next save tries again).
  boost::asio::awaitable<void> enlist(std::vector<std::string> queues, bool ordered);

  // cancel cancels a message none of whose deliveries has started (cancel-1.lua):
  // 1 cancelled, 0 no such message, -1 a delivery has started or it is settled.
  boost::asio::awaitable<result<int>> cancel(std::string_view project, std::uint64_t id);
  // retry makes a consumer's failed messages due now again (retry-2.lua); per id whether
  // it was requeued.
  boost::asio::awaitable<result<std::vector<bool>>> retry(std::string_view project,
                                                          std::string_view consumer,
                                                          std::span<const std::uint64_t> ids);

  // For the storage layer's other readers and writers (browse.h, operate.h):
  // exec runs cmd, retrying up to redis.max_retries times (with backoff) when the
  // connection was lost or is down; never on a timeout, so the time bound holds. Every
  // command of the store is idempotent (saves carry their ids and use NX), so a retry is
  // safe. maybe_sent (if given) is set when an attempt may have reached Redis without an
  // answer reaching dmq (a timeout, a connection lost after sending).
  boost::asio::awaitable<redis::exec_result> exec(const redis::command& cmd,
                                                  bool* maybe_sent = nullptr);

  // run_script calls one script; on NOSCRIPT it retries with EVAL. maybe_sent: as exec's.
  boost::asio::awaitable<result<redis::reply>> run_script(std::string_view name,
                                                          std::size_t numkeys,
                                                          const std::vector<std::string>& args,
                                                          bool* maybe_sent = nullptr);
  // run_scripts calls one script once per element of calls, in one pipeline; the replies
  // in order (a Redis error reply stays a reply). maybe_sent: as exec's.
  boost::asio::awaitable<result<redis::replies>> run_scripts(
      std::string_view name, std::size_t numkeys,
      const std::vector<std::vector<std::string>>& calls, bool* maybe_sent = nullptr);
  const keys& key_names() const { return keys_; }
  std::int64_t status_ttl_ms() const { return status_ttl_ms_; }

 private:
  // decide finds out, after a save whose outcome is unknown, which of msgs are stored and
  // clears their errors in out; if Redis does not answer within confirm_bound, they stay
  // errors and wait in unsettled_ for on_connect to revoke them.
  boost::asio::awaitable<void> decide(std::span<const to_save> msgs,
                                      std::vector<std::error_code>& out);
  // unsettled: a message whose save has an unknown outcome.
  struct unsettled {
    std::string tag;  // the project's shard (keys::tag)
    std::uint64_t id;
    std::int64_t expire_at_ms;    // of its record, had it been stored
    std::string idempotency_key;  // its key's Redis key name; empty if it had none
  };
  // settle calls settle-1 on msgs in mode "confirm" (per message: stored?) or "revoke"
  // (stored and a delivery started?); nullopt if Redis did not answer.
  boost::asio::awaitable<std::optional<std::vector<int>>> settle(std::span<const unsettled> msgs,
                                                                 std::string_view mode);
  // revoke calls settle-1 (revoke) on unsettled_, so messages answered "not saved" are never
  // delivered; an error if Redis did not answer (they stay in unsettled_).
  boost::asio::awaitable<std::error_code> revoke();

  // replicate WAITs, with replication.replicas set, for the saves in out that succeeded;
  // those their master could not confirm in time are revoked and answered
  // errc::not_replicated (unless a delivery had already started: then they stay saved).
  boost::asio::awaitable<void> replicate(std::span<const to_save> msgs,
                                         std::vector<std::error_code>& out);
  unsettled unsettled_of(const to_save& m) const;

  // publish sends the wake-ups of a save (PUBLISH commands); a failure is only logged.
  boost::asio::awaitable<void> publish(redis::command wakes);

  // read_clock reads Redis's TIME into clock_, on conn.
  boost::asio::awaitable<std::error_code> read_clock(redis::connection& conn);
  // unclaim undoes the claims whose answers were lost (lost_claims_), on conn.
  boost::asio::awaitable<std::error_code> unclaim(redis::client& conn);
  // after_connect undoes lost claims and revokes, once the cluster is ready again.
  boost::asio::awaitable<void> after_connect();

  redis::client& conn_;
  const keys& keys_;
  script_set& scripts_;
  std::int64_t data_ttl_ms_;
  std::int64_t status_ttl_ms_;
  retry_policy retry_;
  replication repl_;
  std::uint64_t* not_replicated_ = nullptr;
  // saves whose outcome was unknown, by how they were settled (count_into)
  std::uint64_t* settled_stored_ = nullptr;
  std::uint64_t* settled_not_stored_ = nullptr;
  std::uint64_t* revoked_ = nullptr;
  std::uint64_t* revoke_too_late_ = nullptr;
  std::map<std::uint64_t, unsettled> unsettled_;       // answered "not saved", not yet revoked
  std::set<std::string> enlisted_, enlisted_ordered_;  // queue keys added to the registries
  storage::clock clock_;
  struct lost_claim {
    std::string queue, base, consumer;
    std::int64_t lease_until;
  };
  std::vector<lost_claim> lost_claims_;  // claims whose answer was lost, to undo

 public:
  // confirm_bound: how long a save whose outcome is unknown waits for Redis to answer
  // settle-1 before it is answered "not saved" (and revoked in the background).
  static constexpr std::chrono::milliseconds confirm_bound{250};
  // missing_grace_ms: in cluster mode, how long after its due time a queued id whose record
  // is not there is looked at again rather than dropped (a slot being migrated: claim-1.lua).
  static constexpr std::int64_t missing_grace_ms = 60000;

  // --- the dispatcher's side of the operators' features (issue 14): its reports and the
  // events stream. (Pause, history and report reads: operate.h, browse.h.)

  // report writes a dispatcher's report (JSON, docs/storage.md) to <prefix>:dispatcher:<id>
  // for ttl_ms and lists it in <prefix>:dispatchers at now_ms, dropping members that have
  // not reported for ttl_ms. unreport removes both (clean shutdown).
  boost::asio::awaitable<std::error_code> report(std::string_view id, std::string_view json,
                                                 std::int64_t now_ms, std::int64_t ttl_ms);
  boost::asio::awaitable<std::error_code> unreport(std::string_view id);

  // delivery_event: one delivery outcome for the events stream (tail).
  struct delivery_event {
    std::int64_t t = 0;  // ms
    std::string project, consumer;
    std::uint64_t id = 0;
    int attempt = 0;
    std::string_view outcome;  // done | retry | failure (a literal)
    int http_status = 0;
    std::string error;
    std::int64_t duration_ms = 0;
  };
  // tailing says whether someone tails the events (<prefix>:tail exists).
  boost::asio::awaitable<result<bool>> tailing();
  // add_events appends events to <prefix>:events (XADD MAXLEN ~ 10000), in one round trip.
  boost::asio::awaitable<std::error_code> add_events(std::span<const delivery_event> events);
  static constexpr int events_max_len = 10000;
};

}  // namespace dmq::storage
