#include "redis/connection.h"

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <deque>

#include "util/spawn.h"

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace dmq::redis {

namespace {

struct category_impl : std::error_category {
  const char* name() const noexcept override { return "redis"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::not_connected:
        return "redis is not connected";
      case errc::timeout:
        return "redis did not answer in time";
      case errc::connection_lost:
        return "connection to redis lost";
      case errc::protocol:
        return "redis protocol error";
      case errc::stopped:
        return "redis connection stopped";
      case errc::server_error:
        return "redis answered with an error";
      case errc::out_of_memory:
        return "Redis out of memory (maxmemory reached): nothing written";
      case errc::not_replicated:
        return "Redis did not replicate the save to redis.wait_replicas replicas in time: "
               "not saved";
    }
    return "redis error";
  }
};

using handler_t = asio::any_completion_handler<void(std::error_code, replies)>;
using clock = std::chrono::steady_clock;

}  // namespace

const std::error_category& error_category() {
  static category_impl c;
  return c;
}
std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), error_category()};
}

struct connection::impl : std::enable_shared_from_this<impl> {
  enum class state { down, handshake, ready, stopped };

  struct pending {
    std::size_t expected;
    replies got;
    handler_t handler;
    clock::time_point deadline;
  };

  impl(asio::any_io_executor e, options o)
      : ex(e), opt(std::move(o)), sock(e), write_signal(e), broken_signal(e), watchdog(e) {}
  ~impl() {
    if (reader) redisReaderFree(reader);
  }

  asio::any_io_executor ex;
  options opt;
  tcp::socket sock;
  asio::steady_timer write_signal;
  asio::steady_timer broken_signal;
  asio::steady_timer watchdog;
  redisReader* reader = nullptr;
  reply building;  // the top-level reply the reader is building (its privdata)
  std::deque<pending> queue;
  std::string out;
  std::vector<char> rbuf = std::vector<char>(std::size_t{64} * 1024);
  state st = state::down;
  std::uint64_t generation = 0;
  std::uint64_t sessions = 0;  // successful handshakes so far
  std::error_code broken_reason;
  std::string why_down = "not connected yet";  // why the connection is not ready
  bool refused = false;                        // the last handshake was refused (why_down says why)
  on_connect_fn on_connect;
  std::function<void(const reply&)> on_push;
  std::function<void()> on_broken;

  void complete(pending& p, std::error_code ec) {
    asio::post(ex, [h = std::move(p.handler), ec, r = std::move(p.got)]() mutable {
      std::move(h)(ec, std::move(r));
    });
  }

  void submit(std::string_view bytes, std::size_t n, handler_t h) {
    pending p{
        n, {}, std::move(h), clock::now() + std::chrono::milliseconds(opt.request_timeout_ms)};
    if (st == state::down || st == state::stopped || n == 0) {
      std::error_code ec = n == 0                 ? std::error_code{}
                           : st == state::stopped ? make_error_code(errc::stopped)
                                                  : make_error_code(errc::not_connected);
      complete(p, ec);
      return;
    }
    out.append(bytes);
    p.got.reserve(n);
    queue.push_back(std::move(p));
    write_signal.cancel();
  }

  void fail_all(std::error_code ec) {
    for (auto& p : queue) complete(p, ec);
    queue.clear();
    out.clear();
  }

  // mark_broken ends the current connection; run() notices and reconnects.
  void mark_broken(std::error_code ec) {
    if (st == state::down || st == state::stopped) return;
    broken_reason = ec;
    ++generation;
    st = state::down;
    boost::system::error_code ignored;
    sock.shutdown(tcp::socket::shutdown_both, ignored);
    sock.close(ignored);
    fail_all(ec);
    broken_signal.cancel();
    write_signal.cancel();
    if (on_broken) asio::post(ex, on_broken);
  }

  asio::awaitable<void> write_loop(std::uint64_t gen) {
    auto self = shared_from_this();
    std::string buf;
    while (gen == generation) {
      if (out.empty()) {
        write_signal.expires_at(clock::time_point::max());
        co_await write_signal.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      buf.clear();
      buf.swap(out);
      auto [ec, n] =
          co_await asio::async_write(sock, asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (gen == generation) mark_broken(make_error_code(errc::connection_lost));
        co_return;
      }
    }
  }

  asio::awaitable<void> read_loop(std::uint64_t gen) {
    auto self = shared_from_this();
    for (;;) {
      auto [ec, n] =
          co_await sock.async_read_some(asio::buffer(rbuf), asio::as_tuple(asio::use_awaitable));
      if (gen != generation) co_return;
      if (ec) {
        mark_broken(make_error_code(errc::connection_lost));
        co_return;
      }
      redisReaderFeed(reader, rbuf.data(), n);
      for (;;) {
        void* r = nullptr;
        if (redisReaderGetReply(reader, &r) != REDIS_OK) {
          mark_broken(make_error_code(errc::protocol));
          co_return;
        }
        if (!r) break;
        auto rep = std::move(building);
        building = reply{};
        if (on_push && rep.is_array() && rep.elements.size() == 3 &&
            (rep.elements[0].str == "message" || rep.elements[0].str == "smessage" ||
             rep.elements[0].str == "sunsubscribe")) {  // a sharded channel's slot moved
          on_push(rep);
          continue;
        }
        if (queue.empty()) {
          mark_broken(make_error_code(errc::protocol));
          co_return;
        }
        auto& front = queue.front();
        front.got.push_back(std::move(rep));
        if (front.got.size() == front.expected) {
          complete(front, {});
          queue.pop_front();
        }
      }
    }
  }

  // watch breaks the connection when the oldest request waits past its deadline.
  asio::awaitable<void> watch() {
    auto self = shared_from_this();
    auto period = std::chrono::milliseconds(std::max(5, opt.request_timeout_ms / 4));
    while (st != state::stopped) {
      watchdog.expires_after(period);
      co_await watchdog.async_wait(asio::as_tuple(asio::use_awaitable));
      if (!queue.empty() && queue.front().deadline < clock::now()) {
        spdlog::warn("{}: no reply within {} ms, reconnecting", opt.name, opt.request_timeout_ms);
        mark_broken(make_error_code(errc::timeout));
      }
    }
  }

  asio::awaitable<std::error_code> connect_once() {
    using namespace asio::experimental::awaitable_operators;
    tcp::resolver resolver(ex);
    auto [rec, endpoints] = co_await resolver.async_resolve(opt.host, std::to_string(opt.port),
                                                            asio::as_tuple(asio::use_awaitable));
    if (rec) co_return rec;
    asio::steady_timer deadline(ex, std::chrono::milliseconds(opt.connect_timeout_ms));
    auto result =
        co_await (asio::async_connect(sock, endpoints, asio::as_tuple(asio::use_awaitable)) ||
                  deadline.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (result.index() == 1) {
      boost::system::error_code ignored;
      sock.close(ignored);
      co_return make_error_code(errc::timeout);
    }
    auto [cec, ep] = std::get<0>(result);
    if (cec) co_return cec;
    sock.set_option(tcp::no_delay(true));
    // Keepalive probes find a peer that vanished without a FIN or RST, even on a
    // connection that sends nothing (the subscriber's); the heartbeat PING is faster.
    boost::system::error_code ignored;
    sock.set_option(asio::socket_base::keep_alive(true), ignored);
    int idle = 30, interval = 10, count = 3;  // dead after ~60 s of silence
    ::setsockopt(sock.native_handle(), IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    ::setsockopt(sock.native_handle(), IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    ::setsockopt(sock.native_handle(), IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
    co_return std::error_code{};
  }

  // where names the server for messages.
  std::string where() const { return opt.host + ":" + std::to_string(opt.port); }

  // refused_text describes a handshake's error reply; an authentication failure names the
  // settings to check (never the password: Redis's own text does not hold it either).
  std::string refused_text(const std::string& err) const {
    auto is = [&](std::string_view p) { return err.starts_with(p); };
    if (is("WRONGPASS") || is("NOAUTH") || is("NOPERM") || is("ERR AUTH") ||
        is("ERR invalid password") || is("ERR Client sent AUTH")) {
      std::string who = opt.username.empty() ? "without a user name (the default user)"
                                             : "as user '" + opt.username + "'";
      std::string how = opt.password.empty() ? "no password was sent" : "a password was sent";
      return "authentication refused by " + where() + " " + who + ", " + how + ": " + err +
             " (check redis.username and redis.password)";
    }
    return "handshake refused by " + where() + ": " + err;
  }

  asio::awaitable<std::error_code> handshake(connection& owner) {
    command cmd;
    if (!opt.password.empty() && !opt.username.empty())
      cmd.push("AUTH", opt.username, opt.password);  // a Redis ACL user (Redis 6+)
    else if (!opt.password.empty())
      cmd.push("AUTH", opt.password);
    else
      cmd.push("PING");  // a server that wants a password says so now (NOAUTH), by name
    if (opt.db != 0) cmd.push("SELECT", opt.db);
    auto [ec, r] = co_await owner.exec(cmd);
    if (ec) co_return ec;
    for (auto& x : r)
      if (x.is_error()) {
        auto why = refused_text(x.str);
        // Once per distinct reason: a server that keeps refusing is retried quietly.
        if (why != why_down) spdlog::error("{}: {}", opt.name, why);
        why_down = std::move(why);
        refused = true;
        co_return make_error_code(errc::server_error);
      }
    if (on_connect) co_return co_await on_connect(owner);
    co_return std::error_code{};
  }

  asio::awaitable<void> run(connection& owner) {
    auto self = shared_from_this();
    int backoff = opt.min_backoff_ms;
    bool was_up = false;
    while (st != state::stopped) {
      auto ec = co_await connect_once();
      if (st == state::stopped) co_return;
      refused = false;
      if (ec) why_down = "cannot connect to " + where() + ": " + ec.message();
      if (!ec) {
        if (reader) redisReaderFree(reader);
        building = reply{};
        reader = new_reader(&building);
        st = state::handshake;
        auto gen = ++generation;
        util::spawn(ex, read_loop(gen), "redis read loop");
        util::spawn(ex, write_loop(gen), "redis write loop");
        ec = co_await handshake(owner);
        if (!ec && st == state::handshake) {
          st = state::ready;
          why_down.clear();
          ++sessions;
          backoff = opt.min_backoff_ms;
          spdlog::info("{}: connected to {}:{}", opt.name, opt.host, opt.port);
          was_up = true;
          broken_signal.expires_at(clock::time_point::max());
          co_await broken_signal.async_wait(asio::as_tuple(asio::use_awaitable));
          if (st == state::stopped) co_return;
          ec = broken_reason;
          why_down = ec.message() + " (" + where() + ")";
        } else {
          if (!ec) ec = broken_reason;
          if (!refused) why_down = "connected to " + where() + ", then: " + ec.message();
          mark_broken(ec);
        }
      }
      if (was_up)
        spdlog::warn("{}: {} ({}), retrying in {} ms", opt.name, ec.message(),
                     opt.host + ":" + std::to_string(opt.port), backoff);
      was_up = false;
      asio::steady_timer pause(ex, std::chrono::milliseconds(backoff));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      backoff = std::min(backoff * 2, opt.max_backoff_ms);
    }
  }
};

connection::connection(asio::any_io_executor ex, options opt)
    : impl_(std::make_shared<impl>(ex, std::move(opt))) {}

connection::~connection() {
  stop();
}

void connection::set_on_connect(on_connect_fn fn) {
  impl_->on_connect = std::move(fn);
}

void connection::set_on_broken(std::function<void()> fn) {
  impl_->on_broken = std::move(fn);
}

std::string connection::where() const {
  return impl_->where();
}

void connection::set_push_handler(std::function<void(const reply&)> fn) {
  impl_->on_push = std::move(fn);
}

void connection::start() {
  util::spawn(impl_->ex, impl_->run(*this), "redis connection");
  util::spawn(impl_->ex, impl_->watch(), "redis watchdog");
}

void connection::stop() {
  auto& i = *impl_;
  if (i.st == impl::state::stopped) return;
  i.mark_broken(make_error_code(errc::stopped));
  i.st = impl::state::stopped;
  i.broken_signal.cancel();
  i.watchdog.cancel();
  boost::system::error_code ignored;
  i.sock.close(ignored);
}

bool connection::ready() const {
  return impl_->st == impl::state::ready;
}

std::string connection::why_down() const {
  return ready() ? std::string() : impl_->why_down;
}

std::uint64_t connection::session() const {
  return impl_->sessions;
}

asio::awaitable<bool> connection::wait_ready(std::chrono::milliseconds bound) {
  auto until = clock::now() + bound;
  asio::steady_timer t(impl_->ex);
  while (!ready() && clock::now() < until && impl_->st != impl::state::stopped) {
    t.expires_after(10ms);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return ready();
}

namespace {
// submit_op starts one exec. It is trivially destructible on purpose: GCC 12 destroys some
// temporaries of a co_await expression twice (a capturing lambda or a shared_ptr here).
struct submit_op {
  connection::impl* self;
  const std::string* bytes;
  std::size_t n;
  template <class Handler>
  void operator()(Handler&& h) const {
    self->submit(*bytes, n, handler_t(std::forward<Handler>(h)));
  }
};
}  // namespace

asio::awaitable<exec_result> connection::exec(const command& cmd) {
  auto n = cmd.count();
  const std::string& bytes = cmd.bytes();
  auto token = asio::as_tuple(asio::use_awaitable);
  auto result = co_await asio::async_initiate<decltype(token), void(std::error_code, replies)>(
      submit_op{impl_.get(), &bytes, n}, token);
  co_return exec_result{std::get<0>(result), std::move(std::get<1>(result))};
}

}  // namespace dmq::redis
