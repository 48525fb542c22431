// save_batcher: group commit for saves. Saves requested by concurrent requests in one turn
// of the event loop are sent as one store::save, so a burst of single-message POSTs costs
// one save-1 script call per project instead of one per message. Nobody waits for a timer:
// the batch is flushed as soon as the requests already runnable have been handled.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/awaitable.hpp>
#include <span>
#include <system_error>
#include <vector>

#include "storage/store.h"

namespace dmq::storage {

class save_batcher {
 public:
  save_batcher(boost::asio::any_io_executor ex, store& s) : ex_(ex), store_(s) {}

  // save stores msgs together with whatever else is being saved in this turn;
  // returns one error code per message, as store::save.
  boost::asio::awaitable<std::vector<std::error_code>> save(std::span<const to_save> msgs);

  using done_fn = boost::asio::any_completion_handler<void(std::vector<std::error_code>)>;
  // add queues msgs for the next flush; done gets their results.
  void add(std::span<const to_save> msgs, done_fn done);

 private:
  struct waiter {
    std::size_t from, count;  // its messages in batch_
    done_fn done;
  };

  boost::asio::awaitable<void> flush();

  boost::asio::any_io_executor ex_;
  store& store_;
  std::vector<to_save> batch_;
  std::vector<waiter> waiters_;
  bool flush_posted_ = false;
};

}  // namespace dmq::storage
