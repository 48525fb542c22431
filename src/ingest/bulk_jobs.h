// bulk_jobs: replay (retry) or solve a consumer's failed messages, optionally of a time
// range, at a given rate, as a job inside dmq with its progress in Redis (keys::job), so
// an operator starts it with one call and any dmq process can report on it.
// The job runs in the process that took the request. Should that process stop, the job's
// heartbeat (updated_ms) stops too and it reads as "interrupted": start it again; it only
// ever touches what is still failed, so nothing is replayed twice by the restart.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>

#include "storage/browse.h"
#include "storage/operate.h"
#include "storage/store.h"

namespace dmq::ingest {

class bulk_jobs {
 public:
  struct spec {
    std::string kind;  // "replay" or "solve"
    std::string project, consumer;
    std::int64_t start_s = 0, end_s = 0;  // the failed messages' timestamps
    std::string cmd;                      // "" or: only messages of this cmd
    int rate = 200;                       // messages per second
  };

  bulk_jobs(storage::store& s, storage::browse& b, storage::operate& o)
      : store_(s), browse_(b), operate_(o) {}

  // start records a new job and runs it in the background; returns its id.
  boost::asio::awaitable<storage::result<std::string>> start(const spec& s);

  // view returns a job as the API shows it: its fields, with "running" read as
  // "interrupted" once its heartbeat is older than stale_ms (now_ms: Redis's time).
  static storage::job view(storage::job j, std::int64_t now_ms);

  static constexpr std::int64_t stale_ms = 30000;
  static constexpr int max_rate = 10000;

 private:
  // run works through the failed list once: at most total messages (the list's size in
  // the range at the start), so messages that fail again meanwhile are not replayed again.
  boost::asio::awaitable<void> run(std::string id, spec s, std::int64_t total);
  // step_result: what one chunk did; a state ("done", "cancelled", "failed") ends the job.
  struct step_result {
    std::int64_t processed = 0, succeeded = 0;
    std::string cursor, state, error;
  };
  // cancelled says whether the job was cancelled (POST /api/jobs/cancel).
  boost::asio::awaitable<bool> cancelled(const std::string& id);
  // step handles the next chunk of at most min(chunk, room) messages after cursor.
  boost::asio::awaitable<step_result> step(const std::string& id, const spec& s,
                                           const std::string& cursor, int chunk, std::int64_t room);
  storage::store& store_;
  storage::browse& browse_;
  storage::operate& operate_;
};

}  // namespace dmq::ingest
