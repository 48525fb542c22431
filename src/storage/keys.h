// keys: the only place Redis key names are built. The schema is in docs/storage.md.
//
// Every key of a project carries the Redis Cluster hash tag {project}, so one
// project's keys live in one slot and each Lua script touches a single slot. In cluster
// mode the global keys (id leases, dispatcher reports, events, jobs) carry one tag of their
// own, {global}: "<prefix>:{global}:node:3"; on a single Redis they keep their old names.
//
// Shards (docs/scaling.md): a project with `shards: K` spreads its messages over K hash
// tags. Shard 0 is the project itself ({P}: today's keys, so data written before sharding
// stays where it was); shard s >= 1 is {P~s}, or {P~s.n} with the smallest n that puts its
// slot in the middle of a K-th of the slot space no other shard has: the K shards then sit
// evenly over the slots, and so over the masters of a cluster whose slots are split evenly.
// Every per-project key function below takes such a tag (tag()) where it says `project`:
// the name of a project, or of one of its shards.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dmq::storage {

class keys {
 public:
  // shards: K of each project with more than one (product_list[i].shards).
  using shard_counts = std::map<std::string, int, std::less<>>;
  explicit keys(std::string prefix = "dmq", bool cluster = false, const shard_counts& shards = {})
      : prefix_(std::move(prefix)),
        global_(cluster ? prefix_ + ":{global}" : prefix_),
        cluster_(cluster) {
    for (const auto& [project, k] : shards) place(project, k);
  }

  // shards returns project's K (1 unless configured).
  int shards(std::string_view project) const;
  // tag returns the name shard s of project's keys are built from: the project for s = 0.
  std::string tag(std::string_view project, int s) const;
  // tags returns every shard's tag of project, shard 0 first.
  std::vector<std::string> tags(std::string_view project) const;
  // shard_of returns the shard a message of project goes to: an ordered command's by its
  // bucket (a bucket stays in one shard), else one with an idempotency key by that key
  // (so a repeat meets the first), else id mod K. bucket and key: "" when not used.
  int shard_of(std::string_view project, std::uint64_t id, std::string_view bucket,
               std::string_view key) const;
  // project_of returns the project a tag belongs to (a configured shard's project; any
  // other tag is a project's own name).
  std::string_view project_of(std::string_view tag) const;

  // base returns "<prefix>:{<project>}:", the start of every key of project.
  std::string base(std::string_view project) const;
  // message returns the STRING holding a message and its statuses (record.h): <base>m:<id>.
  std::string message(std::string_view project, std::uint64_t id) const;
  // queue returns a consumer's ZSET of deliveries: member = message id, score = when its
  // next attempt is due (ms since the Unix epoch).
  std::string queue(std::string_view project, std::string_view consumer) const;
  // bucket returns the ZSET of an ordered command's ids of one bucket for one consumer,
  // scored by due time: <base>b:<len(consumer)>:<consumer>:<bucket>. The length keeps
  // ("a", "b:c") and ("a:b", "c") apart. The bucket is data from a request: it only ever
  // ends a key, after the project's hash tag, so it cannot reach into another key.
  std::string bucket(std::string_view project, std::string_view consumer,
                     std::string_view bucket) const;
  // heads returns the HASH of a consumer's ordered bucket heads in its queue: id -> bucket
  // (<base>h:<consumer>), so a head whose record is gone still moves its bucket on.
  std::string heads(std::string_view project, std::string_view consumer) const;
  // idempotency returns the STRING holding the id of the message first saved with
  // idempotency key key in project, for the project's idempotency_window: <base>i:<key>.
  // Like a bucket, key is data from a request that only ever ends a key.
  std::string idempotency(std::string_view project, std::string_view key) const;
  // pending returns the ZSET of a consumer's finally failed ids scored by timestamp (s).
  std::string pending(std::string_view project, std::string_view consumer) const;
  // attempts returns the HASH of a message's attempt history: consumer -> its last attempts
  // (docs/storage.md, "Attempt history"): <base>a:<id>.
  std::string attempts(std::string_view project, std::uint64_t id) const;
  // rate returns the HASH counting a consumer's attempts of the current second for a
  // shared rate limit (claim-1.lua): <base>r:<consumer>.
  std::string rate(std::string_view project, std::string_view consumer) const;
  // paused returns the HASH of a project's paused consumers: consumer -> since (ms).
  std::string paused(std::string_view project) const;
  // find_index returns the SET of ids of a project's messages sent with request_id rid:
  // <base>f:<rid>. Like a bucket, rid is data from a request that only ever ends a key.
  std::string find_index(std::string_view project, std::string_view rid) const;
  // wake_channel returns the pub/sub channel told when a project's earliest due time moves earlier.
  std::string wake_channel(std::string_view project) const;
  // publish and subscribe are the commands for wake channels: sharded pub/sub in cluster
  // mode (SPUBLISH reaches only the channel's shard), plain pub/sub on a single Redis.
  std::string_view publish() const { return cluster_ ? "SPUBLISH" : "PUBLISH"; }
  std::string_view subscribe() const { return cluster_ ? "SSUBSCRIBE" : "SUBSCRIBE"; }
  bool cluster() const { return cluster_; }
  // global_prefix is what every global key starts with: "<prefix>" on a single Redis,
  // "<prefix>:{global}" in cluster mode (node_acquire-1.lua builds node keys from it).
  const std::string& global_prefix() const { return global_; }
  // node returns the lease key of id-generator node n (global, not per project).
  std::string node(int n) const;
  // node_clock returns the key remembering the last time node n issued ids.
  std::string node_clock(int n) const;

  // dispatchers returns the ZSET of live dispatchers: member = dispatcher id, score = when
  // it last reported (ms); dispatcher(id) is the STRING of its latest report (JSON).
  std::string dispatchers() const;
  std::string dispatcher(std::string_view id) const;
  // events returns the STREAM of delivery outcomes written while someone tails them;
  // tail is the STRING whose presence (a TTL, refreshed by each reader) turns that on.
  std::string events() const;
  std::string tail() const;
  // queue_registry is the SET of every consumer queue key ever written, ordered_registry
  // that of the queues of ordered commands (whose buckets a command no longer ordered must
  // release), registry_complete the STRING saying that a full SCAN filled both once: with
  // it, the dispatcher's start-up audit reads them instead of walking the keyspace.
  std::string queue_registry() const;
  std::string ordered_registry() const;
  std::string registry_complete() const;
  // job returns the HASH of one bulk job (replay, solve); jobs the ZSET of job ids by start.
  std::string job(std::string_view id) const;
  std::string jobs() const;

  // queues_pattern and buckets_pattern match every consumer queue, and every ordered
  // bucket, of every project (SCAN MATCH patterns).
  std::string queues_pattern() const;
  std::string buckets_pattern() const;
  // parse_queue and parse_bucket return (project, consumer) of a key those patterns
  // matched, or nullopt if it is not one.
  std::optional<std::pair<std::string, std::string>> parse_queue(std::string_view key) const;
  std::optional<std::pair<std::string, std::string>> parse_bucket(std::string_view key) const;

  // Suffixes of the keys built inside Lua scripts from base(); keys_test checks that every
  // suffix a script appends to a base is one of those built above.
  static constexpr std::string_view message_suffix = "m:";

  const std::string& prefix() const { return prefix_; }

 private:
  std::string prefix_;
  std::string global_;
  bool cluster_ = false;
  // place computes the tags of project's k shards into tags_ and owners_.
  void place(const std::string& project, int k);
  std::map<std::string, std::vector<std::string>, std::less<>> tags_;  // projects with k > 1
  std::map<std::string, std::string, std::less<>> owners_;             // tag -> project
};

}  // namespace dmq::storage
