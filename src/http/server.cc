#include "http/server.h"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detail/socket_option.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <list>

#include "http/request_reader.h"
#include "http/tls_context.h"
#include "util/spawn.h"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using reuse_port_option = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
using namespace std::chrono_literals;

namespace dmq::http {

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

using tls_stream = asio::ssl::stream<tcp::socket>;

// tcp_of returns the TCP socket under a connection's stream.
tcp::socket& tcp_of(tcp::socket& s) {
  return s;
}
tcp::socket& tcp_of(tls_stream& s) {
  return s.next_layer();
}

util::ip_address to_ip(const asio::ip::address& a) {
  if (a.is_v4()) return asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4()).to_bytes();
  return a.to_v6().to_bytes();
}

}  // namespace

struct server::impl : std::enable_shared_from_this<impl> {
  // session_state: what the sweeper and shutdown() see of a connection. Timeouts are
  // coarse, as in nginx: each I/O sets a deadline, and one timer (sweep) ends the I/O of
  // the connections past theirs, instead of arming a timer for every read and write.
  struct session_state {
    tcp::socket* sock;
    bool busy = false;
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    bool timed_out = false;
  };

  impl(asio::any_io_executor e, server_options o, handler h)
      : ex(e), opt(std::move(o)), handle(std::move(h)), acceptor(e) {}

  asio::any_io_executor ex;
  server_options opt;
  handler handle;
  tcp::acceptor acceptor;
  std::list<session_state> sessions;
  bool stopping = false;
  asio::steady_timer sweeper{ex};

  // sweep ends the I/O of connections past their deadline, every 1/8 of the shorter
  // timeout (10 ms at least), so a timeout fires at most that much late. It runs until
  // shutdown() has seen every connection end, so deadlines hold while it waits.
  asio::awaitable<void> sweep() {
    auto self = shared_from_this();
    auto period =
        std::max<std::chrono::milliseconds>(10ms, std::min(opt.read_timeout, opt.idle_timeout) / 8);
    while (!stopping || !sessions.empty()) {
      sweeper.expires_after(period);
      auto [ec] = co_await sweeper.async_wait(use_tuple);
      if (ec) co_return;
      auto now = std::chrono::steady_clock::now();
      for (auto& s : sessions)
        if (s.deadline < now) {
          // Shut down as well as cancel, and again on every sweep until the session has
          // ended: cancel() alone misses a step of a composed read or write whose
          // completion is already queued, and the next step would wait for ever.
          s.timed_out = true;
          boost::system::error_code ignored;
          s.sock->shutdown(tcp::socket::shutdown_both, ignored);
          s.sock->cancel(ignored);
        }
    }
  }

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (!stopping) {
      auto [ec, sock] = co_await acceptor.async_accept(use_tuple);
      if (stopping || ec == asio::error::operation_aborted) co_return;
      if (ec) {  // EMFILE and the like: wait a little rather than spin
        if (opt.accept_errors) ++*opt.accept_errors;
        spdlog::warn("http: accept failed: {}; retrying in 50 ms", ec.message());
        asio::steady_timer t(ex, 50ms);
        co_await t.async_wait(use_tuple);
        continue;
      }
      if (static_cast<int>(sessions.size()) >= opt.max_connections) {
        spdlog::warn("http: {} connections open, refusing one", sessions.size());
        continue;  // sock closes as it goes out of scope
      }
      if (!opt.tls) {
        util::spawn(ex, session(std::move(sock), nullptr), "http session");
        continue;
      }
      // The connection keeps the context it starts with: a reload (SIGHUP) replaces only
      // the context of the connections accepted after it.
      auto ctx = opt.tls->current();
      util::spawn(ex, session(tls_stream(std::move(sock), *ctx), ctx), "https session");
    }
  }

  response call_handler_failed(const char* what) {
    spdlog::error("http: handler failed: {}", what);
    return {500, R"({"code":100,"message":"internal error","data":null})"};
  }

  // serialise writes the answer into out (reused by the connection), as Beast would
  // write it, without its serializer's per-answer work.
  static void serialise(std::string& out, const response& resp, unsigned version, bool keep_alive) {
    out.clear();
    out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    out.append(std::to_string(resp.status)).append(" ");
    out.append(bhttp::obsolete_reason(static_cast<bhttp::status>(resp.status)));
    out.append("\r\nServer: dmq\r\nContent-Type: ").append(resp.content_type);
    // A 304 has no body and must not claim one of 0 bytes (RFC 9110, 8.6).
    if (resp.status != 304)
      out.append("\r\nContent-Length: ").append(std::to_string(resp.body.size()));
    if (resp.retry_after_s > 0)
      out.append("\r\nRetry-After: ").append(std::to_string(resp.retry_after_s));
    out.append(resp.headers);
    if (version == 10 && keep_alive) out.append("\r\nConnection: keep-alive");
    if (!keep_alive) out.append("\r\nConnection: close");
    out.append("\r\n\r\n").append(resp.body);
  }

  // answer_to returns the answer to a refusal, as the options make it.
  response answer_to(const refusal& r) const {
    auto resp = r.status == 413 && opt.too_large ? opt.too_large()
                : opt.malformed                  ? opt.malformed(r.status, r.why)
                                                 : malformed_answer(r.status, r.why);
    resp.status = r.status;
    return resp;
  }

  // refuse answers a request that cannot be served (400, 413, 431, 505) and closes
  // gracefully: the client may still be sending, and closing at once would reset the
  // connection before it reads the answer. A refusal of status 0 is not answered.
  template <class Stream>
  asio::awaitable<void> refuse(Stream& stream, session_state& me, std::string& out,
                               const refusal& r, unsigned version) {
    if (r.status == 0) co_return;
    serialise(out, answer_to(r), version, false);
    co_await asio::async_write(stream, asio::buffer(out), use_tuple);
    boost::system::error_code ignored;
    me.sock->shutdown(tcp::socket::shutdown_send, ignored);
    me.deadline = std::chrono::steady_clock::now() + 1s;
    std::array<char, 16384> sink;
    std::size_t drained = 0;
    while (drained < opt.max_body_bytes && !me.timed_out) {
      auto [ec, n] = co_await me.sock->async_read_some(asio::buffer(sink), use_tuple);
      if (ec) break;
      drained += n;
    }
  }

  // read_some_of feeds rd from buf, reading more from sock while it needs more: until it
  // has the head of a request, or the whole of it once it has the head. Returns the error
  // that ended the read (the parser's or the socket's), or success.
  template <class Stream>
  static asio::awaitable<boost::system::error_code> read_some_of(Stream& sock,
                                                                 beast::flat_buffer& buf,
                                                                 request_reader& rd) {
    for (;;) {
      auto ec = rd.feed(buf);
      if (ec != bhttp::error::need_more) co_return ec;
      auto [rec, n] = co_await sock.async_read_some(buf.prepare(std::size_t{16} * 1024), use_tuple);
      if (rec) co_return rec;
      buf.commit(n);
    }
  }

  // handshake runs the server's side of a TLS handshake, which must end within the read
  // timeout (the sweeper ends it); false, counted and logged, if it failed.
  asio::awaitable<bool> handshake(tls_stream& stream, session_state& me, const std::string& peer) {
    me.deadline = std::chrono::steady_clock::now() + opt.read_timeout;
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
    if (!ec && !me.timed_out) co_return true;
    if (stopping && ec == asio::error::operation_aborted) co_return false;
    if (opt.tls_handshake_failures) ++*opt.tls_handshake_failures;
    spdlog::warn("http: TLS handshake with {} failed: {}", peer,
                 me.timed_out ? "no handshake within http.read_timeout" : ec.message());
    co_return false;
  }

  // close_notify ends a TLS connection in order (after an answer with "Connection:
  // close"): it sends TLS's close_notify and gives the client 1 s (at most the read
  // timeout) to send its own, as refuse() gives it to read an answer.
  asio::awaitable<void> close_notify(tls_stream& stream, session_state& me) {
    me.deadline = std::chrono::steady_clock::now() +
                  std::min<std::chrono::milliseconds>(opt.read_timeout, 1s);
    co_await stream.async_shutdown(use_tuple);
  }

  // close_tcp closes a connection's socket (after a FIN, so the client sees an orderly end).
  static void close_tcp(tcp::socket& sock) {
    boost::system::error_code ignored;
    sock.shutdown(tcp::socket::shutdown_send, ignored);
    sock.close(ignored);
  }

  // session serves one connection, over Stream: tcp::socket, or tls_stream (whose context
  // keep holds for as long as the connection lives).
  template <class Stream>
  asio::awaitable<void> session(Stream sock, [[maybe_unused]] std::shared_ptr<void> keep) {
    auto self = shared_from_this();
    boost::system::error_code opt_ec;
    tcp_of(sock).set_option(tcp::no_delay(true), opt_ec);
    auto me = sessions.insert(sessions.end(), {&tcp_of(sock)});
    // The sweeper and shutdown() hold &sock: leave the list however this coroutine ends.
    struct leave {
      std::list<session_state>& all;
      std::list<session_state>::iterator me;
      ~leave() { all.erase(me); }
    } leave_on_exit{sessions, me};
    auto expires_in = [&](std::chrono::milliseconds t) {
      me->deadline = std::chrono::steady_clock::now() + t;
    };
    boost::system::error_code pec;
    auto peer = tcp_of(sock).remote_endpoint(pec);
    util::ip_address peer_ip{};
    std::string peer_text;
    if (!pec) {
      peer_ip = to_ip(peer.address());
      peer_text = peer.address().to_string();
    }
    if constexpr (std::is_same_v<Stream, tls_stream>) {
      bool secured = co_await handshake(sock, *me, peer_text);
      if (!secured) {
        close_tcp(tcp_of(sock));
        co_return;
      }
    }
    beast::flat_buffer buf;
    std::string out;
    bool in_order = false;  // ended by an answer that closes the connection
    while (!stopping && !me->timed_out) {
      request_reader rd(opt.max_body_bytes);
      if (buf.size() == 0) {  // idle keep-alive: wait for the first byte of the next request
        expires_in(opt.idle_timeout);
        auto [iec, in] =
            co_await sock.async_read_some(buf.prepare(std::size_t{16} * 1024), use_tuple);
        if (iec || me->timed_out) break;
        buf.commit(in);
      }
      expires_in(opt.read_timeout);  // from its first byte, a request gets this long
      auto ec = co_await read_some_of(sock, buf, rd);
      if (me->timed_out) break;
      // A malformed head, or a Content-Length alone over the body limit, is answered.
      auto refused = ec ? rd.refusal_for(ec) : rd.refusal_for_head();
      if (ec || refused.status) {
        co_await refuse(sock, *me, out, refused, 11);
        break;
      }
      me->busy = true;
      unsigned version = rd.version();
      if (!rd.done()) {
        if (rd.expects_continue()) {
          static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
          auto [cec, cn] = co_await asio::async_write(sock, asio::buffer(cont), use_tuple);
          if (cec || me->timed_out) break;
        }
        auto bec = co_await read_some_of(sock, buf, rd);
        if (me->timed_out) break;
        if (bec) {  // a malformed chunked body, or one over the limit, is answered
          co_await refuse(sock, *me, out, rd.refusal_for(bec), version);
          break;
        }
      }
      me->deadline = std::chrono::steady_clock::time_point::max();  // the handler has no timeout
      bool wants_keep_alive = rd.keep_alive();
      auto r = rd.release();
      r.peer = peer_ip;
      r.peer_text = peer_text;
      response resp;
      auto t0 = std::chrono::steady_clock::now();
      try {
        resp = co_await handle(r);
      } catch (const std::exception& e) {
        resp = call_handler_failed(e.what());
      }
      if (opt.observe)
        opt.observe(r, resp,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      bool keep_alive = wants_keep_alive && !stopping;
      expires_in(opt.read_timeout);
      serialise(out, resp, version, keep_alive);
      auto [wec, wn] = co_await asio::async_write(sock, asio::buffer(out), use_tuple);
      me->busy = false;
      in_order = !wec && !keep_alive;
      if (wec || !keep_alive || me->timed_out) break;
    }
    if constexpr (std::is_same_v<Stream, tls_stream>)
      if (in_order && !me->timed_out) co_await close_notify(sock, *me);
    close_tcp(tcp_of(sock));
  }
};

server::server(asio::any_io_executor ex, server_options opt, handler h)
    : impl_(std::make_shared<impl>(ex, std::move(opt), std::move(h))) {}

server::~server() = default;

std::error_code server::listen() {
  auto& i = *impl_;
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(i.opt.listen, ec);
  if (ec) return ec;
  tcp::endpoint ep(addr, static_cast<unsigned short>(i.opt.port));
  i.acceptor.open(ep.protocol(), ec);
  if (!ec) i.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && i.opt.reuse_port) i.acceptor.set_option(reuse_port_option(true), ec);
  if (!ec) i.acceptor.bind(ep, ec);
  if (!ec) i.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return ec;
  util::spawn(i.ex, i.accept_loop(), "http accept loop");
  util::spawn(i.ex, i.sweep(), "http timeout sweeper");
  return {};
}

std::size_t server::connections() const {
  return impl_->sessions.size();
}

int server::port() const {
  boost::system::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

asio::awaitable<void> server::shutdown(std::chrono::milliseconds deadline) {
  auto self = impl_;
  auto& i = *impl_;
  i.stopping = true;
  boost::system::error_code ignored;
  i.acceptor.close(ignored);
  for (auto& s : i.sessions)
    if (!s.busy) s.sock->cancel(ignored);  // idle keep-alive connections end now
  auto until = std::chrono::steady_clock::now() + deadline;
  asio::steady_timer t(i.ex);
  while (!i.sessions.empty() && std::chrono::steady_clock::now() < until) {
    t.expires_after(5ms);
    co_await t.async_wait(use_tuple);
  }
  if (!i.sessions.empty()) {
    spdlog::warn("http: {} requests still running after {} ms, closing them", i.sessions.size(),
                 deadline.count());
    for (auto& s : i.sessions) s.sock->close(ignored);
  }
}

}  // namespace dmq::http
