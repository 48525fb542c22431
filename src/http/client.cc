#include "http/client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
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

struct client::impl {
  impl(asio::any_io_executor e, std::size_t max_idle) : ex(e), max_idle(max_idle) {}

  asio::any_io_executor ex;
  std::size_t max_idle;
  std::map<std::string, std::vector<std::unique_ptr<beast::tcp_stream>>> idle;
  std::map<std::string, tcp::resolver::results_type> resolved;

  std::unique_ptr<beast::tcp_stream> take(const std::string& key) {
    auto it = idle.find(key);
    if (it == idle.end() || it->second.empty()) return nullptr;
    auto s = std::move(it->second.back());
    it->second.pop_back();
    return s;
  }

  void give_back(const std::string& key, std::unique_ptr<beast::tcp_stream> s) {
    auto& v = idle[key];
    if (v.size() < max_idle) v.push_back(std::move(s));
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
};

client::client(asio::any_io_executor ex, std::size_t max_idle_per_host)
    : impl_(std::make_shared<impl>(ex, max_idle_per_host)) {}

client::~client() = default;

std::size_t client::idle_connections() const {
  std::size_t n = 0;
  for (auto& [k, v] : impl_->idle) n += v.size();
  return n;
}

asio::awaitable<client_response> client::post(const client_request& req) {
  auto self = impl_;
  if (req.tls) co_return client_response{0, "https consumers are not supported yet"};
  auto key = req.host + ":" + req.port;
  auto deadline = clock::now() + req.timeout;

  bhttp::request<bhttp::string_body> r{bhttp::verb::post, req.target, 11};
  r.set(bhttp::field::host, req.host + ":" + req.port);
  for (const auto& [k, v] : req.headers) r.set(k, v);
  r.body() = req.body;
  r.keep_alive(true);
  r.prepare_payload();

  for (int round = 0; round < 2; ++round) {
    auto stream = self->take(key);
    bool reused = stream != nullptr;
    if (!stream) {
      stream = std::make_unique<beast::tcp_stream>(self->ex);
      auto err = co_await self->connect(*stream, req, key, deadline);
      if (!err.empty()) co_return client_response{0, err};
    }
    stream->expires_at(deadline);
    auto [wec, wn] = co_await bhttp::async_write(*stream, r, use_tuple);
    beast::flat_buffer buf;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(1 << 20);
    boost::system::error_code rec = wec;
    if (!wec) std::tie(rec, std::ignore) = co_await bhttp::async_read(*stream, buf, parser, use_tuple);
    if (rec) {
      bool stale = reused && rec != beast::error::timeout && buf.size() == 0 &&
                   !parser.got_some() && clock::now() < deadline;
      if (stale) continue;  // the server closed the idle connection: it never saw this request
      co_return client_response{0, rec == beast::error::timeout ? "timeout" : rec.message()};
    }
    auto& res = parser.get();
    int status = static_cast<int>(res.result_int());
    if (res.keep_alive()) {
      stream->expires_never();
      self->give_back(key, std::move(stream));
    }
    co_return client_response{status, {}};
  }
  co_return client_response{0, "connection closed by the consumer"};
}

}  // namespace dmq::http
