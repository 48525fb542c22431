#include "http/client.h"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <map>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;

namespace dmq::http {

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using clock = std::chrono::steady_clock;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

// append_clean appends s with CR, LF and NUL turned into spaces, so no value (a producer's
// request_id, say) can end the header early or add one.
void append_clean(std::string& out, std::string_view s) {
  auto from = out.size();
  out.append(s);
  for (auto i = from; i < out.size(); ++i)
    if (out[i] == '\r' || out[i] == '\n' || out[i] == '\0') out[i] = ' ';
}

// serialise writes req's request line and header into out, as Beast's serializer would for
// a keep-alive HTTP/1.1 POST with a Content-Length; the body is sent from req as it is.
void serialise(std::string& out, const client_request& req) {
  out.clear();
  out.append("POST ");
  append_clean(out, req.target);
  out.append(" HTTP/1.1\r\nHost: ");
  append_clean(out, req.host);
  out.append(":").append(req.port);
  for (const auto& [name, value] : req.headers) {
    out.append("\r\n");
    append_clean(out, name);
    out.append(": ");
    append_clean(out, value);
  }
  out.append("\r\nContent-Length: ").append(std::to_string(req.body.size())).append("\r\n\r\n");
}

// status_parser reads an answer and keeps only its status and the first keep bytes of its
// body: the header's fields and the rest of the body are read and dropped, without storing
// them.
class status_parser : public bhttp::basic_parser<false> {
 public:
  explicit status_parser(std::size_t keep) : keep_(keep) {}
  int status = 0;
  std::string body;

 private:
  void on_request_impl(bhttp::verb, beast::string_view, beast::string_view, int,
                       beast::error_code&) override {}
  void on_response_impl(int code, beast::string_view, int, beast::error_code&) override {
    status = code;
  }
  void on_field_impl(bhttp::field, beast::string_view, beast::string_view,
                     beast::error_code&) override {}
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, beast::error_code&) override {}
  std::size_t on_body_impl(beast::string_view b, beast::error_code&) override {
    keep(b);
    return b.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view b, beast::error_code&) override {
    keep(b);
    return b.size();
  }
  void on_finish_impl(beast::error_code&) override {}
  void keep(beast::string_view b) {
    if (body.size() < keep_) body.append(b.data(), std::min(b.size(), keep_ - body.size()));
  }
  std::size_t keep_;
};

// plain_conn: a keep-alive connection over TCP. One timer per connection keeps a request's
// deadline; when it passes, the socket is closed, which ends its I/O.
struct plain_conn : std::enable_shared_from_this<plain_conn> {
  explicit plain_conn(asio::any_io_executor ex) : sock(ex), timer(ex) {}

  tcp::socket sock;
  asio::steady_timer timer;
  clock::time_point deadline = clock::time_point::max();
  bool timed_out = false;
  std::string head;       // the request line and header being sent
  beast::flat_buffer in;  // answers are read into it, and it is empty between them

  tcp::socket& socket() { return sock; }
  tcp::socket& stream() { return sock; }

  void arm(clock::time_point d) {
    deadline = d;
    timer.expires_at(d);
    timer.async_wait([w = weak_from_this()](boost::system::error_code ec) {
      auto c = w.lock();
      // A wait that was cancelled, or that completed just before the request ended and the
      // connection was reused with a later deadline, changes nothing.
      if (ec || !c || clock::now() < c->deadline) return;
      c->timed_out = true;
      // Close, not just cancel: cancel() misses a step of a composed read or write whose
      // completion is already queued, and a range connect would go on to the next address
      // with no deadline; every step fails on a closed socket. A connection that timed
      // out is never reused.
      boost::system::error_code ignored;
      c->sock.close(ignored);
    });
  }
  void disarm() {
    deadline = clock::time_point::max();
    timer.cancel();
  }
  bool is_timeout(const boost::system::error_code&) const { return timed_out; }
};

// tls_conn: a keep-alive connection over TLS; Beast's tcp_stream keeps the deadline.
struct tls_conn {
  tls_conn(asio::any_io_executor ex, asio::ssl::context& ctx) : tls(ex, ctx) {}

  tls_stream tls;
  std::string head;
  beast::flat_buffer in;

  tcp::socket& socket() { return tls.next_layer().socket(); }
  tls_stream& stream() { return tls; }

  void arm(clock::time_point d) { tls.next_layer().expires_at(d); }
  void disarm() { tls.next_layer().expires_never(); }
  bool is_timeout(const boost::system::error_code& ec) const { return ec == beast::error::timeout; }
};

}  // namespace

struct client::impl {
  impl(asio::any_io_executor e, std::size_t max_idle) : ex(e), max_idle(max_idle) {}

  asio::any_io_executor ex;
  std::size_t max_idle;
  std::map<std::string, std::vector<std::shared_ptr<plain_conn>>> idle;
  std::map<std::string, std::vector<std::shared_ptr<tls_conn>>> idle_tls;
  std::map<std::string, tcp::resolver::results_type> resolved;
  std::map<std::string, std::unique_ptr<asio::ssl::context>> contexts;  // by ca_file

  template <class Conn>
  std::map<std::string, std::vector<std::shared_ptr<Conn>>>& pool() {
    if constexpr (std::is_same_v<Conn, tls_conn>)
      return idle_tls;
    else
      return idle;
  }

  // take returns a pooled connection that is still open, or nullptr. An idle connection
  // that has something to read (the server's close, or anything else) is dropped.
  template <class Conn>
  std::shared_ptr<Conn> take(const std::string& key) {
    auto& p = pool<Conn>();
    auto it = p.find(key);
    while (it != p.end() && !it->second.empty()) {
      auto c = std::move(it->second.back());
      it->second.pop_back();
      char byte;
      auto n = ::recv(c->socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return c;
    }
    return nullptr;
  }

  template <class Conn>
  void give_back(const std::string& key, std::shared_ptr<Conn> c) {
    auto& v = pool<Conn>()[key];
    if (v.size() < max_idle) v.push_back(std::move(c));
  }

  asio::ssl::context& context(const client_request& req) {
    auto key = req.ca_file + (req.tls_verify ? "" : "\n-noverify");
    auto& ctx = contexts[key];
    if (!ctx) {
      ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
      boost::system::error_code ec;
      if (req.ca_file.empty())
        ctx->set_default_verify_paths(ec);
      else
        ctx->load_verify_file(req.ca_file, ec);
      ctx->set_verify_mode(req.tls_verify ? asio::ssl::verify_peer : asio::ssl::verify_none);
    }
    return *ctx;
  }

  template <class Conn>
  std::shared_ptr<Conn> make(const client_request& req) {
    if constexpr (std::is_same_v<Conn, tls_conn>)
      return std::make_shared<tls_conn>(ex, context(req));
    else
      return std::make_shared<plain_conn>(ex);
  }

  // resolve returns host:port's addresses, resolved once and then kept.
  asio::awaitable<std::pair<std::string, const tcp::resolver::results_type*>> resolve(
      const client_request& req, const std::string& key) {
    auto it = resolved.find(key);
    if (it == resolved.end()) {
      tcp::resolver r(ex);
      auto [ec, res] = co_await r.async_resolve(req.host, req.port, use_tuple);
      if (ec) co_return std::pair{"cannot resolve " + req.host + ": " + ec.message(), nullptr};
      it = resolved.emplace(key, res).first;
    }
    co_return std::pair{std::string{}, &it->second};
  }

  // is_local says whether a connect failed for want of this host's own resources.
  static bool is_local(const boost::system::error_code& ec) {
    return ec == boost::system::errc::too_many_files_open ||
           ec == boost::system::errc::too_many_files_open_in_system ||
           ec == boost::system::errc::no_buffer_space ||
           ec == boost::system::errc::not_enough_memory;
  }
  static constexpr std::string_view local_mark = "local: ";

  // open_probe opens sock for the first address, to tell a want of descriptors (which a
  // range connect reports as a mere failure to connect) from the consumer's fault; it
  // closes it again, so the connect opens it anew. Returns "local: why", or "".
  static std::string open_probe(tcp::socket& sock, const tcp::resolver::results_type& addrs) {
    if (addrs.empty()) return {};
    boost::system::error_code ec;
    sock.open(addrs.begin()->endpoint().protocol(), ec);
    if (ec) return is_local(ec) ? std::string(local_mark) + ec.message() : std::string{};
    sock.close(ec);
    return {};
  }

  asio::awaitable<std::string> connect(plain_conn& c, const client_request& req,
                                       const std::string& key, clock::time_point deadline) {
    auto [err, addrs] = co_await resolve(req, key);
    if (!err.empty()) co_return err;
    if (auto local = open_probe(c.sock, *addrs); !local.empty()) co_return local;
    c.arm(deadline);
    auto [ec, ep] = co_await asio::async_connect(c.sock, *addrs, use_tuple);
    c.disarm();
    if (ec) {
      if (is_local(ec)) co_return std::string(local_mark) + ec.message();
      resolved.erase(key);  // resolve again next time: the address may have changed
      co_return c.timed_out ? std::string("timeout") : ec.message();
    }
    boost::system::error_code ignored;  // Nagle's delay only: not worth failing over
    c.sock.set_option(tcp::no_delay(true), ignored);
    co_return std::string{};
  }

  // connect for TLS runs the handshake too: SNI and host name verification included.
  asio::awaitable<std::string> connect(tls_conn& c, const client_request& req,
                                       const std::string& key, clock::time_point deadline) {
    auto [err, addrs] = co_await resolve(req, key);
    if (!err.empty()) co_return err;
    auto& tcp_layer = c.tls.next_layer();
    if (auto local = open_probe(tcp_layer.socket(), *addrs); !local.empty()) co_return local;
    tcp_layer.expires_at(deadline);
    auto [ec, ep] = co_await tcp_layer.async_connect(*addrs, use_tuple);
    if (ec) {
      if (is_local(ec)) co_return std::string(local_mark) + ec.message();
      resolved.erase(key);
      co_return ec == beast::error::timeout ? std::string("timeout") : ec.message();
    }
    boost::system::error_code ignored;
    tcp_layer.socket().set_option(tcp::no_delay(true), ignored);
    if (!SSL_set_tlsext_host_name(c.tls.native_handle(), req.host.c_str()))
      co_return "cannot set TLS server name";
    if (req.tls_verify) c.tls.set_verify_callback(asio::ssl::host_name_verification(req.host));
    auto [hec] = co_await c.tls.async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (hec) co_return "TLS handshake failed: " + hec.message();
    co_return std::string{};
  }

  // post sends req once. A connection checked open by take() may still be closed by the
  // server in the same instant; that attempt then fails and is retried by the retry policy,
  // rather than re-sent here, since the consumer may have read it.
  template <class Conn>
  asio::awaitable<client_response> post(const client_request& req, const std::string& key,
                                        clock::time_point deadline) {
    auto c = take<Conn>(key);
    if (!c) {
      c = make<Conn>(req);
      auto err = co_await connect(*c, req, key, deadline);
      if (err.starts_with(local_mark))
        co_return client_response{0, err.substr(local_mark.size()), true, {}};
      if (!err.empty()) co_return client_response{0, err, false, {}};
    }
    serialise(c->head, req);
    std::array<asio::const_buffer, 2> out{asio::buffer(c->head), asio::buffer(req.body)};
    c->arm(deadline);
    auto [ec, n] = co_await asio::async_write(c->stream(), out, use_tuple);
    int status = 0;
    bool keep_alive = false;
    std::string body;
    // Interim answers (1xx, such as an unasked-for 100 Continue) come before the real one.
    for (int answers = 0; !ec && status < 200 && answers < 4; ++answers) {
      status_parser parser(req.keep_body);
      parser.body_limit(boost::none);  // read and dropped; the deadline bounds it
      parser.header_limit(64 * 1024);  // big cookies must not fail a 2xx
      std::tie(ec, n) = co_await bhttp::async_read(c->stream(), c->in, parser, use_tuple);
      status = parser.status;
      keep_alive = parser.keep_alive();
      body = std::move(parser.body);
    }
    c->disarm();
    if (ec) co_return client_response{0, c->is_timeout(ec) ? "timeout" : ec.message(), false, {}};
    // Bytes after the answer would be read as the start of the next one: not reused then.
    if (keep_alive && status >= 200 && c->in.size() == 0) give_back(key, std::move(c));
    co_return client_response{status, {}, false, std::move(body)};
  }
};

client::client(asio::any_io_executor ex, std::size_t max_idle_per_host)
    : impl_(std::make_shared<impl>(ex, max_idle_per_host)) {}

client::~client() = default;

std::size_t client::idle_connections() const {
  std::size_t n = 0;
  for (auto& [k, v] : impl_->idle) n += v.size();
  for (auto& [k, v] : impl_->idle_tls) n += v.size();
  return n;
}

asio::awaitable<client_response> client::post(const client_request& req) {
  auto self = impl_;
  auto key = req.host + ":" + req.port;
  auto deadline = clock::now() + req.timeout;
  if (req.tls) co_return co_await self->post<tls_conn>(req, key, deadline);
  co_return co_await self->post<plain_conn>(req, key, deadline);
}

}  // namespace dmq::http
