// cluster: a Redis Cluster client over one pipelined connection (connection.h) per master.
//
// It reads the slot map (CLUSTER SLOTS) from any node it reaches, first from the seed
// nodes, then again every cluster_options::refresh_ms and whenever a connection breaks or a
// reply says MOVED. exec() splits a pipeline into units (one command, or a MULTI ... EXEC
// block: routing.h), sends each to the master of its slot (the units for one master in one
// write), follows MOVED and ASK (ASKING first), and sends again after a pause what a
// changing cluster answered TRYAGAIN or CLUSTERDOWN, for up to busy_retry_ms. A master
// that is down fails only the commands for its slots (errc::not_connected), at once.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>
#include <vector>

#include "redis/client.h"
#include "redis/connection.h"
#include "util/metrics.h"

namespace dmq::redis {

struct cluster_options {
  std::vector<std::string> seeds;  // "host:port" of any nodes of the cluster
  options node;                    // each connection's settings; host and port are replaced
  int refresh_ms = 5000;
  int max_redirects = 5;
  int busy_retry_ms = 2000;
};

class cluster final : public client {
 public:
  cluster(boost::asio::any_io_executor ex, cluster_options opt);
  ~cluster() override;
  cluster(const cluster&) = delete;
  cluster& operator=(const cluster&) = delete;

  void set_on_connect(on_connect_fn fn) override;
  void start() override;
  void stop() override;
  bool ready() const override;
  std::string why_down() const override;
  std::uint64_t session() const override;
  bool ready_for(std::string_view key) const override;
  std::uint64_t session_for(std::string_view key) const override;
  boost::asio::awaitable<bool> wait_ready(std::chrono::milliseconds bound) override;
  boost::asio::awaitable<exec_result> exec(const command& cmd) override;
  std::vector<connection*> masters() override;
  bool is_cluster() const override { return true; }

  // set_push_handler is connection::set_push_handler for every connection (a subscriber's).
  void set_push_handler(std::function<void(const reply&)> fn);
  // master_of returns "host:port" of the master serving slot now ("" if unknown).
  std::string master_of(int slot) const;
  // count_into registers dmq_redis_redirects_total: what the cluster answered while it
  // changed (MOVED and ASK followed, TRYAGAIN / CLUSTERDOWN sent again).
  void count_into(util::metrics& m);
  // map_version changes whenever the slot map changes.
  std::uint64_t map_version() const;

  struct impl;  // public only so the .cc's helpers can name it

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace dmq::redis
