#include "storage/save_batcher.h"

#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "util/spawn.h"

namespace asio = boost::asio;

namespace dmq::storage {

namespace {

struct category_impl : std::error_category {
  const char* name() const noexcept override { return "save"; }
  std::string message(int) const override {
    return "too many saves wait for Redis (limits.max_queued_saves): retry in a second";
  }
};

}  // namespace

const std::error_category& error_category() {
  static category_impl c;
  return c;
}

std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), error_category()};
}

void save_batcher::add(std::span<const to_save> msgs, done_fn done) {
  if (!batch_.empty() && batch_.size() + msgs.size() > max_queued_) {
    asio::post(ex_, [d = std::move(done), n = msgs.size()]() mutable {
      std::move(d)(std::vector<std::error_code>(n, make_error_code(errc::overloaded)));
    });
    return;
  }
  waiters_.push_back({batch_.size(), msgs.size(), std::move(done)});
  batch_.insert(batch_.end(), msgs.begin(), msgs.end());
  post_flush();
}

void save_batcher::post_flush() {
  if (flush_posted_ || in_flight_ >= max_in_flight || waiters_.empty()) return;
  flush_posted_ = true;
  ++in_flight_;
  // post: runs after the handlers already queued, so their saves join this batch.
  asio::post(ex_, [this] { util::spawn(ex_, flush(), "save flush"); });
}

asio::awaitable<void> save_batcher::flush() {
  flush_posted_ = false;
  if (waiters_.empty()) {
    --in_flight_;
    co_return;
  }
  // Take whole requests, up to max_flush_msgs messages (at least one request).
  std::size_t n = 0, msgs = 0;
  while (n < waiters_.size() && (n == 0 || msgs + waiters_[n].count <= max_flush_msgs))
    msgs += waiters_[n++].count;
  std::vector<to_save> batch(batch_.begin(), batch_.begin() + static_cast<std::ptrdiff_t>(msgs));
  batch_.erase(batch_.begin(), batch_.begin() + static_cast<std::ptrdiff_t>(msgs));
  // Waiters move only by push_back(std::move(...)): taking them with make_move_iterator
  // and erase() overflowed the stack (any_completion_handler's converting constructor,
  // given a non-const lvalue of its own type, wraps it in a new handler, recursively).
  std::vector<waiter> waiters, rest;
  waiters.reserve(n);
  rest.reserve(waiters_.size() - n);
  for (std::size_t i = 0; i < waiters_.size(); ++i) {
    if (i < n) {
      waiters.push_back(std::move(waiters_[i]));
    } else {
      waiters_[i].from -= msgs;
      rest.push_back(std::move(waiters_[i]));
    }
  }
  waiters_ = std::move(rest);
  // More than one flush's worth was waiting: the next one may go at once.
  post_flush();
  auto errors = co_await store_.save(batch);
  std::size_t from = 0;
  for (auto& w : waiters) {
    std::vector<std::error_code> mine(errors.begin() + static_cast<std::ptrdiff_t>(from),
                                      errors.begin() + static_cast<std::ptrdiff_t>(from + w.count));
    from += w.count;
    asio::post(ex_, [d = std::move(w.done), m = std::move(mine)]() mutable {
      std::move(d)(std::move(m));
    });
  }
  --in_flight_;
  post_flush();
}

}  // namespace dmq::storage
