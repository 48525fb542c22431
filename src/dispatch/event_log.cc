#include "dispatch/event_log.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "util/spawn.h"

namespace asio = boost::asio;

namespace dmq::dispatch {

event_log::event_log(asio::any_io_executor ex, storage::store& store)
    : ex_(ex), store_(store), timer_(ex) {}

void event_log::add(storage::store::delivery_event e) {
  if (!on_) return;
  // A reader that stopped long ago while Redis is away must not grow this without bound.
  if (pending_.size() >= static_cast<std::size_t>(storage::store::events_max_len)) return;
  pending_.push_back(std::move(e));
  if (!flushing_) {
    flushing_ = true;
    util::spawn(ex_, flush(), "events flush");
  }
}

asio::awaitable<void> event_log::flush() {
  // Let the other acks of this turn add theirs first: one round trip for all of them.
  co_await asio::post(ex_, asio::use_awaitable);
  while (!pending_.empty()) {
    auto batch = std::move(pending_);
    pending_.clear();
    if (auto ec = co_await store_.add_events(batch))
      spdlog::debug("events: {} outcomes not written: {}", batch.size(), ec.message());
  }
  flushing_ = false;
}

asio::awaitable<void> event_log::run() {
  while (!stopping_) {
    auto [ec, tailing] = co_await store_.tailing();
    if (!ec) on_ = tailing;
    timer_.expires_after(check_every);
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void event_log::stop() {
  stopping_ = true;
  on_ = false;
  timer_.cancel();
}

}  // namespace dmq::dispatch
