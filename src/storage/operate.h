// operate: the operators' writes beyond the seed's (issue 14): reschedule a message, pause
// and resume a consumer, and keep bulk jobs (replay, solve) in Redis. Reads: browse.h.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/store.h"

namespace dmq::storage {

// job: a bulk job's state as kept in <prefix>:job:<id> (field -> value).
using job = std::map<std::string, std::string>;

class operate {
 public:
  explicit operate(store& s) : store_(s), keys_(s.key_names()) {}

  // reschedule moves a message none of whose deliveries has started to due_ms
  // (reschedule-1.lua): 1 done, 0 no such message, -1 started or settled, -2 ordered.
  boost::asio::awaitable<result<int>> reschedule(std::string_view project, std::uint64_t id,
                                                 std::int64_t due_ms);
  // pause stops claims of a consumer by every dispatcher (keys::paused) from now_ms on;
  // returns since when it is paused (an earlier pause stands). resume lifts it and wakes
  // the dispatchers; returns whether it was paused.
  boost::asio::awaitable<result<std::int64_t>> pause(std::string_view project,
                                                     std::string_view consumer,
                                                     std::int64_t now_ms);
  boost::asio::awaitable<result<bool>> resume(std::string_view project, std::string_view consumer);

  // save_job writes fields of job id (creating it); it lives job_ttl_ms after its last write.
  // created_ms > 0 also lists it in keys::jobs (the newest max_jobs are kept).
  boost::asio::awaitable<std::error_code> save_job(std::string_view id, const job& fields,
                                                   std::int64_t created_ms = 0);
  // load_job returns a job's fields, nullopt if there is none.
  boost::asio::awaitable<result<std::optional<job>>> load_job(std::string_view id);
  // jobs returns the ids of the newest jobs, newest first.
  boost::asio::awaitable<result<std::vector<std::string>>> jobs(int max);

  static constexpr std::int64_t job_ttl_ms = std::int64_t{7} * 24 * 3600 * 1000;
  static constexpr int max_jobs = 100;

 private:
  store& store_;
  const keys& keys_;
};

}  // namespace dmq::storage
