// subscriber: dmq's wake-up listener. On a single Redis, one connection SUBSCRIBEd to every
// channel. In a Redis Cluster, sharded pub/sub: each channel SSUBSCRIBEd on the master of
// its slot, as the data client's slot map says (connections of its own, which do nothing
// else), and subscribed again wherever the slot moves: Redis then sends "sunsubscribe",
// and ping() (every second) compares the subscriptions with the map.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "redis/cluster.h"
#include "redis/connection.h"

namespace dmq::redis {

class subscriber {
 public:
  // on_message(channel, payload) for each message; on_subscribed after each (re)subscribe
  // (messages may have been missed meanwhile).
  using message_fn = std::function<void(const std::string&, const std::string&)>;

  // map null: a single Redis at node.host:node.port; else the cluster whose slot map says
  // where each channel lives.
  subscriber(boost::asio::any_io_executor ex, options node, const cluster* map);
  ~subscriber();

  void start(std::vector<std::string> channels, message_fn on_message,
             std::function<void()> on_subscribed);
  void stop();
  // ping PINGs every connection - a subscriber whose connection died silently would never
  // hear a wake-up again; an unanswered PING breaks it and the reconnect subscribes again -
  // and, in a cluster, subscribes each channel where the map says it lives now.
  boost::asio::awaitable<void> ping();

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace dmq::redis
