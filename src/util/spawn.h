// spawn: the one way dmq starts a detached coroutine. A coroutine that ends by an
// exception is a bug: it may have left a consumer's worker stopped, a concurrency slot
// taken or the save queue blocked, while /healthz still says 200. spawn never lets that
// exception vanish: it logs it (with what the coroutine was), counts it, and calls the
// process's fatal handler, which by default aborts. dmq's processes install one that stops
// the process with exit code 70 (EX_SOFTWARE) after an orderly shutdown, so a supervisor
// restarts it; leases make what was in flight due again (docs/delivery.md).
#pragma once

#include <spdlog/spdlog.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <utility>

namespace dmq::util {

// fatal_handler: called once per failed coroutine, with what failed and why.
using fatal_handler = std::function<void(const std::string& what, const std::string& why)>;

// set_fatal_handler replaces the handler (nullptr: back to the default, abort).
void set_fatal_handler(fatal_handler h);
// spawn_failures counts coroutines that ended by an exception, since the start.
std::uint64_t spawn_failures();
// report_spawn_failure logs and counts a coroutine's exception, then calls the handler.
void report_spawn_failure(const char* what, const std::exception_ptr& e);

// spawn runs coro detached on ex; what names it in the log ("deliver", "consumer worker").
// what must outlive the coroutine (a string literal).
template <class Executor, class T>
void spawn(Executor&& ex, boost::asio::awaitable<T> coro, const char* what) {
  boost::asio::co_spawn(std::forward<Executor>(ex), std::move(coro),
                        [what](const std::exception_ptr& e, auto&&...) {
                          if (e) report_spawn_failure(what, e);
                        });
}

template <class Executor>
void spawn(Executor&& ex, boost::asio::awaitable<void> coro, const char* what) {
  boost::asio::co_spawn(std::forward<Executor>(ex), std::move(coro),
                        [what](const std::exception_ptr& e) {
                          if (e) report_spawn_failure(what, e);
                        });
}

}  // namespace dmq::util
