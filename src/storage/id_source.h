// id_source: message ids for this process: an id_generator whose node number is leased
// from Redis and renewed in the background, so no two live processes share a node.
//
// Ids are issued only while the lease is known to be held: renewed within usable_for, and
// on the current Redis connection. After every reconnect the lease is checked again before
// any id is issued, since the server may have restarted empty and given the node to
// another process. Without a lease next() returns nullopt and saving fails with an error.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "model/id_generator.h"
#include "redis/connection.h"
#include "storage/clock.h"
#include "storage/keys.h"
#include "storage/scripts.h"

namespace dmq::storage {

class id_source {
 public:
  static constexpr std::chrono::milliseconds lease_time{30000};
  static constexpr std::chrono::milliseconds renew_every{5000};
  static constexpr std::chrono::milliseconds usable_for{20000};  // after the last renewal

  // clock, if given, learns Redis's time from every renewal (storage/clock.h).
  id_source(boost::asio::any_io_executor ex, redis::client& conn, const keys& k,
            const script_set& scripts, storage::clock* clock = nullptr);

  // run acquires a node and keeps renewing it until stop(); spawn it once.
  boost::asio::awaitable<void> run();
  void stop();

  // next returns a new id, or nullopt while no node lease is held.
  std::optional<std::uint64_t> next();
  // ready says whether next() would issue an id now.
  bool ready() const;
  // why_not says why next() would not issue an id now ("" when it would).
  std::string why_not() const;
  // node returns the leased node number, or -1.
  int node() const;

 private:
  boost::asio::awaitable<bool> acquire();
  boost::asio::awaitable<bool> renew();

  redis::client& conn_;
  const keys& keys_;
  std::string lease_key_;  // node 0's: where the lease keys live (their master, in a cluster)
  const script_set& scripts_;
  storage::clock* clock_;
  boost::asio::steady_timer timer_;
  model::id_generator gen_;
  std::string instance_;
  std::chrono::steady_clock::time_point renewed_at_{};
  std::uint64_t renewed_session_ = 0;  // the connection session of the last renewal
  bool stopped_ = false;
  bool all_taken_logged_ = false;
};

}  // namespace dmq::storage
