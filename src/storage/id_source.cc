#include "storage/id_source.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace dmq::storage {

id_source::id_source(asio::any_io_executor ex, redis::client& conn, const keys& k,
                     const script_set& scripts, storage::clock* clock)
    : conn_(conn), keys_(k), lease_key_(k.node(0)), scripts_(scripts), clock_(clock), timer_(ex) {
  std::random_device rd;
  instance_ = fmt::format("{:016x}{:016x}", (std::uint64_t{rd()} << 32) | rd(),
                          (std::uint64_t{rd()} << 32) | rd());
}

bool id_source::ready() const {
  return gen_.node() >= 0 && std::chrono::steady_clock::now() - renewed_at_ <= usable_for &&
         conn_.ready_for(lease_key_) && conn_.session_for(lease_key_) == renewed_session_ &&
         model::id_generator::in_range(now_ms());
}

std::string id_source::why_not() const {
  if (!model::id_generator::in_range(now_ms()))
    return fmt::format(
        "the clock ({} ms since 1970) is outside the message ids' time range "
        "(2024-01-01 to 2093): no id can be issued; fix the system clock",
        now_ms());
  if (!conn_.ready_for(lease_key_)) return "no message id available (redis unreachable)";
  if (!ready()) return "no message id node leased: messages cannot be accepted";
  return {};
}

std::optional<std::uint64_t> id_source::next() {
  if (!ready()) return std::nullopt;
  return gen_.next(now_ms());
}

int id_source::node() const {
  return gen_.node();
}

void id_source::stop() {
  stopped_ = true;
  timer_.cancel();
}

asio::awaitable<bool> id_source::acquire() {
  auto session = conn_.session_for(lease_key_);
  redis::command cmd;
  scripts_.get("node_acquire-1")
      .call(cmd, 1,
            {keys_.node(0), keys_.global_prefix(), instance_, std::to_string(lease_time.count()),
             std::to_string(model::id_generator::nodes)});
  auto [ec, r] = co_await conn_.exec(cmd);
  if (ec || r.empty() || !r[0].is_array() || r[0].elements.size() != 2) co_return false;
  auto n = r[0].elements[0].as_int().value_or(-1);
  if (n < 0) {
    if (!all_taken_logged_)
      spdlog::error(
          "ids: all {} generator nodes are leased by other dmq processes; "
          "retrying",
          model::id_generator::nodes);
    all_taken_logged_ = true;
    co_return false;
  }
  all_taken_logged_ = false;
  // The previous holder stopped issuing ids at most usable_for after its last renewal.
  auto clock = r[0].elements[1].as_int().value_or(0);
  gen_.set_node(static_cast<int>(n), clock ? clock + usable_for.count() : 0);
  renewed_at_ = std::chrono::steady_clock::now();
  renewed_session_ = session;
  spdlog::info("ids: leased generator node {}", n);
  co_return true;
}

asio::awaitable<bool> id_source::renew() {
  auto session = conn_.session_for(lease_key_);
  redis::command cmd;
  int n = gen_.node();
  scripts_.get("node_renew-2")
      .call(cmd, 2,
            {keys_.node(n), keys_.node_clock(n), instance_, std::to_string(lease_time.count()),
             std::to_string(now_ms())});
  cmd.push("TIME");  // Redis's clock, for this process's (storage/clock.h)
  auto sent_at = now_us();
  auto [ec, r] = co_await conn_.exec(cmd);
  if (ec || r.size() < 2) co_return false;  // unknown: keep the node, next() checks its age
  if (clock_ && r[1].is_array() && r[1].elements.size() == 2) {
    auto s = r[1].elements[0].as_int(), us = r[1].elements[1].as_int();
    if (s && us) clock_->observe(*s * 1000000 + *us, sent_at, now_us());
  }
  if (r[0].as_int().value_or(0) == 1) {
    renewed_at_ = std::chrono::steady_clock::now();
    renewed_session_ = session;
    co_return true;
  }
  spdlog::warn("ids: lease on generator node {} was lost", n);
  gen_.clear_node();
  co_return false;
}

asio::awaitable<void> id_source::run() {
  // Ticks often (cheap, local) so that a reconnect is noticed at once; talks to Redis only
  // to acquire, to renew every renew_every, or to re-check after a reconnect.
  while (!stopped_) {
    auto due = gen_.node() < 0 || conn_.session_for(lease_key_) != renewed_session_ ||
               std::chrono::steady_clock::now() - renewed_at_ >= renew_every;
    if (due && conn_.ready_for(lease_key_)) {
      if (gen_.node() < 0)
        co_await acquire();
      else
        co_await renew();
    }
    timer_.expires_after(50ms);
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace dmq::storage
