// redis_check: whether the Redis dmq talks to will keep what dmq stores in it. A Redis
// whose maxmemory-policy can evict loses accepted messages without a trace (issue 12: with
// volatile-lru and maxmemory 30mb, 47,700 of 80,000 accepted messages were never
// delivered); one older than 7.0 cannot run dmq's scripts; one without an fsynced AOF
// loses the latest messages when it crashes. dmq reads these settings at start and after
// every reconnect (app/run.cc), refuses the fatal ones and warns about the rest; /healthz,
// the dispatcher's status page and `dmq check --redis` show them. docs/operations.md.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "redis/connection.h"

namespace dmq::storage {

// redis_facts: the settings read from a Redis; "unknown" where neither CONFIG GET nor INFO
// told (CONFIG is often renamed or disabled on managed Redis; INFO carries all but
// appendfsync).
struct redis_facts {
  std::string version = "unknown";           // INFO server redis_version: "7.0.15"
  std::string maxmemory_policy = "unknown";  // "noeviction", "volatile-lru", ...
  std::string appendonly = "unknown";        // "yes" | "no"
  std::string appendfsync = "unknown";       // "always" | "everysec" | "no"
  std::string source = "none";               // "CONFIG" or "INFO": where the policy came from
};

// finding: one thing about a Redis an operator must know; a refusal stops dmq.
struct finding {
  enum class level { warning, refusal };
  level severity = level::warning;
  std::string setting;  // "maxmemory-policy", "version", "appendonly", "appendfsync"
  std::string text;     // what is wrong, what it risks, and the fix
};

// redis_verdict: the facts of one Redis and what dmq makes of them.
struct redis_verdict {
  redis_facts facts;
  std::vector<finding> findings;  // empty: nothing to say

  // refused says whether any finding is a refusal: dmq must not use this Redis.
  bool refused() const;
  // status returns "ok", "warning" or "refused".
  std::string status() const;
  // refusal_text joins the refusals' texts ("" when none), for logs and /healthz.
  std::string refusal_text() const;
  // to_json returns {"status", "version", "maxmemory_policy", "appendonly", "appendfsync",
  // "source", "findings": [{"level", "setting", "text"}]}: what /healthz shows.
  boost::json::object to_json() const;
};

// judge decides what facts mean for dmq. allow_eviction (redis.allow_eviction) turns the
// refusal of an evicting maxmemory-policy into a warning. Pure: unit-tested.
redis_verdict judge(const redis_facts& facts, bool allow_eviction);

// fact_queries returns the commands whose replies facts_from reads, in one pipeline: INFO
// server, memory and persistence, then CONFIG GET of each setting (one per call, so that a
// Redis older than 7.0, which takes one name per CONFIG GET, still answers).
redis::command fact_queries();
// facts_from reads the replies to fact_queries(): CONFIG where it answered, else INFO.
redis_facts facts_from(const redis::replies& r);

// check_redis reads conn's Redis and judges it; the error is the transport's (then the
// verdict is empty). It may run inside the connection's on_connect.
boost::asio::awaitable<std::pair<std::error_code, redis_verdict>> check_redis(redis::client& conn,
                                                                              bool allow_eviction);

}  // namespace dmq::storage
