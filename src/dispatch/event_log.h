// event_log: the dispatcher's side of `dmq tail` and GET /api/events. While someone tails
// (the key <prefix>:tail exists, which each reader refreshes; looked at once a second, one
// EXISTS), every delivery outcome is appended to the stream <prefix>:events; the outcomes
// of one turn of the event loop go in one round trip. Nobody tailing costs the deliveries
// nothing but a flag test.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <vector>

#include "storage/store.h"

namespace dmq::dispatch {

class event_log {
 public:
  static constexpr std::chrono::milliseconds check_every{1000};

  event_log(boost::asio::any_io_executor ex, storage::store& store);

  // on says whether outcomes are written (someone tailed at the last look).
  bool on() const { return on_; }
  // add appends an outcome (when on(); else it does nothing).
  void add(storage::store::delivery_event e);
  // run looks for the tail key every check_every until stop().
  boost::asio::awaitable<void> run();
  void stop();

 private:
  boost::asio::awaitable<void> flush();

  boost::asio::any_io_executor ex_;
  storage::store& store_;
  boost::asio::steady_timer timer_;
  std::vector<storage::store::delivery_event> pending_;
  bool on_ = false;
  bool flushing_ = false;
  bool stopping_ = false;
};

}  // namespace dmq::dispatch
