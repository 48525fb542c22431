// save_batcher: group commit for saves. Saves requested by concurrent requests in one turn
// of the event loop are sent as one store::save, so a burst of single-message POSTs costs
// one transaction (or save-1 call, for ordered commands) per project instead of one per
// message. Nobody waits for a timer: the batch is flushed as soon as the requests already
// runnable have been handled.
//
// At most max_in_flight flushes wait for Redis at once, each of about max_flush_msgs
// messages (whole requests: a request's messages are never split). Redis runs every
// command a client has pipelined before it serves another client, so one huge pipeline
// of saves would hold up the dispatcher's claims and acks for its whole length (64
// batch POSTs of 100 messages at once: ~80 ms of save scripts); flushes of a few hundred
// messages keep that wait to a few ms while still keeping Redis busy.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <span>
#include <system_error>
#include <vector>

#include "storage/store.h"

namespace dmq::storage {

// errc::overloaded: a save refused at once because max_queued messages already wait.
enum class errc { overloaded = 1 };
const std::error_category& error_category();
std::error_code make_error_code(errc e);

class save_batcher {
 public:
  // max_queued bounds the messages waiting here for a flush (limits.max_queued_saves): a
  // save that would go past it completes at once with errc::overloaded (a lone request is
  // always taken, however large).
  save_batcher(const boost::asio::any_io_executor& ex, store& s, std::size_t max_queued = 20000)
      : ex_(ex), store_(s), max_queued_(max_queued) {}

  using done_fn = boost::asio::any_completion_handler<void(std::vector<std::error_code>)>;
  // add queues msgs for the next flush; done gets their results.
  void add(std::span<const to_save> msgs, done_fn done);

  // save stores msgs together with whatever else is being saved in this turn and completes
  // with one error code per message, as store::save (co_await save(msgs, use_awaitable)).
  // msgs must stay alive until it completes.
  template <class Token>
  auto save(std::span<const to_save> msgs, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::vector<std::error_code>)>(
        add_op{this, msgs}, token);
  }

 private:
  // add_op starts one save. Trivially destructible: GCC 12 destroys some temporaries of a
  // co_await expression twice.
  struct add_op {
    save_batcher* self;
    std::span<const to_save> msgs;
    template <class Handler>
    void operator()(Handler&& h) const {
      self->add(msgs, done_fn(std::forward<Handler>(h)));
    }
  };

  struct waiter {
    std::size_t from, count;  // its messages in batch_
    done_fn done;
  };

  static constexpr std::size_t max_in_flight = 2;
  static constexpr std::size_t max_flush_msgs = 300;

  boost::asio::awaitable<void> flush();
  void post_flush();

  boost::asio::any_io_executor ex_;
  store& store_;
  std::size_t max_queued_;
  std::vector<to_save> batch_;
  std::vector<waiter> waiters_;
  bool flush_posted_ = false;
  std::size_t in_flight_ = 0;
};

}  // namespace dmq::storage

template <>
struct std::is_error_code_enum<dmq::storage::errc> : std::true_type {};
