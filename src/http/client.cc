#include "http/client.h"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
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
}  // namespace

using tls_stream = beast::ssl_stream<beast::tcp_stream>;

// lowest returns the TCP stream under a plain or TLS stream.
beast::tcp_stream& lowest(beast::tcp_stream& s) {
  return s;
}
beast::tcp_stream& lowest(tls_stream& s) {
  return s.next_layer();
}

struct client::impl {
  impl(asio::any_io_executor e, std::size_t max_idle) : ex(e), max_idle(max_idle) {}

  asio::any_io_executor ex;
  std::size_t max_idle;
  std::map<std::string, std::vector<std::unique_ptr<beast::tcp_stream>>> idle;
  std::map<std::string, std::vector<std::unique_ptr<tls_stream>>> idle_tls;
  std::map<std::string, tcp::resolver::results_type> resolved;
  std::map<std::string, std::unique_ptr<asio::ssl::context>> contexts;  // by ca_file

  template <class Stream>
  std::map<std::string, std::vector<std::unique_ptr<Stream>>>& pool() {
    if constexpr (std::is_same_v<Stream, tls_stream>)
      return idle_tls;
    else
      return idle;
  }

  // take returns a pooled connection that is still open, or nullptr. An idle connection
  // that has something to read (the server's close, or anything else) is dropped.
  template <class Stream>
  std::unique_ptr<Stream> take(const std::string& key) {
    auto& p = pool<Stream>();
    auto it = p.find(key);
    while (it != p.end() && !it->second.empty()) {
      auto s = std::move(it->second.back());
      it->second.pop_back();
      char byte;
      auto n = ::recv(lowest(*s).socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return s;
    }
    return nullptr;
  }

  template <class Stream>
  void give_back(const std::string& key, std::unique_ptr<Stream> s) {
    auto& v = pool<Stream>()[key];
    if (v.size() < max_idle) v.push_back(std::move(s));
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

  template <class Stream>
  std::unique_ptr<Stream> make_stream(const client_request& req) {
    if constexpr (std::is_same_v<Stream, tls_stream>)
      return std::make_unique<tls_stream>(ex, context(req));
    else
      return std::make_unique<beast::tcp_stream>(ex);
  }

  asio::awaitable<std::string> connect(beast::tcp_stream& s, const client_request& req,
                                       const std::string& key, clock::time_point deadline) {
    auto it = resolved.find(key);
    if (it == resolved.end()) {
      tcp::resolver r(ex);
      auto [ec, res] = co_await r.async_resolve(req.host, req.port, use_tuple);
      if (ec) co_return "cannot resolve " + req.host + ": " + ec.message();
      it = resolved.emplace(key, res).first;
    }
    s.expires_at(deadline);
    auto [ec, ep] = co_await s.async_connect(it->second, use_tuple);
    if (ec) {
      resolved.erase(key);  // resolve again next time: the address may have changed
      co_return ec == beast::error::timeout ? std::string("timeout") : ec.message();
    }
    s.socket().set_option(tcp::no_delay(true));
    co_return std::string{};
  }

  // handshake runs the TLS handshake: SNI and host name verification included.
  asio::awaitable<std::string> handshake(tls_stream& s, const client_request& req) {
    if (!SSL_set_tlsext_host_name(s.native_handle(), req.host.c_str()))
      co_return "cannot set TLS server name";
    if (req.tls_verify) s.set_verify_callback(asio::ssl::host_name_verification(req.host));
    auto [ec] = co_await s.async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (ec) co_return "TLS handshake failed: " + ec.message();
    co_return std::string{};
  }

  // post sends r once. A connection checked open by take() may still be closed by the
  // server in the same instant; that attempt then fails and is retried by the retry policy,
  // rather than re-sent here, since the consumer may have read it.
  template <class Stream>
  asio::awaitable<client_response> post(const client_request& req,
                                        bhttp::request<bhttp::string_body>& r,
                                        const std::string& key, clock::time_point deadline) {
    {
      auto stream = take<Stream>(key);
      if (!stream) {
        stream = make_stream<Stream>(req);
        auto err = co_await connect(lowest(*stream), req, key, deadline);
        if constexpr (std::is_same_v<Stream, tls_stream>)
          if (err.empty()) err = co_await handshake(*stream, req);
        if (!err.empty()) co_return client_response{0, err};
      }
      lowest(*stream).expires_at(deadline);
      auto [wec, wn] = co_await bhttp::async_write(*stream, r, use_tuple);
      beast::flat_buffer buf;
      bhttp::response_parser<bhttp::string_body> parser;
      parser.body_limit(1 << 20);
      boost::system::error_code rec = wec;
      if (!wec)
        std::tie(rec, std::ignore) = co_await bhttp::async_read(*stream, buf, parser, use_tuple);
      if (rec)
        co_return client_response{0, rec == beast::error::timeout ? "timeout" : rec.message()};
      auto& res = parser.get();
      int status = static_cast<int>(res.result_int());
      if (res.keep_alive()) {
        lowest(*stream).expires_never();
        give_back(key, std::move(stream));
      }
      co_return client_response{status, {}};
    }
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
  bhttp::request<bhttp::string_body> r{bhttp::verb::post, req.target, 11};
  r.set(bhttp::field::host, req.host + ":" + req.port);
  for (const auto& [k, v] : req.headers) r.set(k, v);
  r.body() = req.body;
  r.keep_alive(true);
  r.prepare_payload();
  if (req.tls) co_return co_await self->post<tls_stream>(req, r, key, deadline);
  co_return co_await self->post<beast::tcp_stream>(req, r, key, deadline);
}

}  // namespace dmq::http
