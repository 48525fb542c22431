#include "storage/save_batcher.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;

namespace dmq::storage {

namespace {
// add_op starts one save. Trivially destructible: GCC 12 destroys some temporaries of a
// co_await expression twice.
struct add_op {
  save_batcher* self;
  const std::span<const to_save>* msgs;
  template <class Handler>
  void operator()(Handler&& h) const {
    self->add(*msgs, save_batcher::done_fn(std::forward<Handler>(h)));
  }
};
}  // namespace

void save_batcher::add(std::span<const to_save> msgs, done_fn done) {
  waiters_.push_back({batch_.size(), msgs.size(), std::move(done)});
  batch_.insert(batch_.end(), msgs.begin(), msgs.end());
  if (flush_posted_) return;
  flush_posted_ = true;
  // post: runs after the handlers already queued, so their saves join this batch.
  asio::post(ex_, [this] { asio::co_spawn(ex_, flush(), asio::detached); });
}

asio::awaitable<void> save_batcher::flush() {
  flush_posted_ = false;
  auto batch = std::move(batch_);
  auto waiters = std::move(waiters_);
  batch_.clear();
  waiters_.clear();
  auto errors = co_await store_.save(batch);
  for (auto& w : waiters) {
    std::vector<std::error_code> mine(
        errors.begin() + static_cast<std::ptrdiff_t>(w.from),
        errors.begin() + static_cast<std::ptrdiff_t>(w.from + w.count));
    asio::post(ex_, [d = std::move(w.done), m = std::move(mine)]() mutable {
      std::move(d)(std::move(m));
    });
  }
}

asio::awaitable<std::vector<std::error_code>> save_batcher::save(std::span<const to_save> msgs) {
  auto token = asio::use_awaitable;
  co_return co_await asio::async_initiate<decltype(token), void(std::vector<std::error_code>)>(
      add_op{this, &msgs}, token);
}

}  // namespace dmq::storage
