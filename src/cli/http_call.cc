#include "cli/http_call.h"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <optional>

#include "util/spawn.h"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;

namespace dmq::cli {

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// The largest answer read: a /pending page of 10,000 ids is about 400 kB.
constexpr std::uint64_t max_body_bytes = 256u << 20;

std::string describe(const boost::system::error_code& ec) {
  return ec == beast::error::timeout ? std::string("timeout") : ec.message();
}

// exchange writes req on stream and reads the answer into out.
template <class Stream>
asio::awaitable<void> exchange(Stream& stream, bhttp::request<bhttp::string_body>& req,
                               call_result& out) {
  auto [wec, wn] = co_await bhttp::async_write(stream, req, use_tuple);
  if (wec) {
    out.error = "cannot send the request: " + describe(wec);
    co_return;
  }
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(max_body_bytes);
  auto [rec, rn] = co_await bhttp::async_read(stream, buf, parser, use_tuple);
  if (rec) {
    out.error = "no answer: " + describe(rec);
    co_return;
  }
  out.status = static_cast<int>(parser.get().result_int());
  out.body = std::move(parser.get().body());
}

// call makes the whole request; every failure ends in out.error, never in an exception
// (util::spawn would treat one as a bug).
asio::awaitable<void> call(const endpoint& at, const call_options& opt,
                           bhttp::request<bhttp::string_body>& req, call_result& out) {
  try {
    auto ex = co_await asio::this_coro::executor;
    tcp::resolver resolver(ex);
    auto [rec, addrs] = co_await resolver.async_resolve(at.host, at.port, use_tuple);
    if (rec) {
      out.error = "cannot resolve " + at.host + ": " + rec.message();
      co_return;
    }
    auto deadline = std::chrono::steady_clock::now() + opt.timeout;
    if (!at.tls) {
      beast::tcp_stream s(ex);
      s.expires_at(deadline);
      auto [cec, ep] = co_await s.async_connect(addrs, use_tuple);
      if (cec) {
        out.error = describe(cec);
        co_return;
      }
      co_await exchange(s, req, out);
      co_return;
    }
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    boost::system::error_code ec;
    if (opt.ca_file.empty())
      ctx.set_default_verify_paths(ec);
    else
      ctx.load_verify_file(opt.ca_file, ec);
    if (ec) {
      out.error = "cannot load the CA file '" + opt.ca_file + "': " + ec.message();
      co_return;
    }
    ctx.set_verify_mode(opt.insecure ? asio::ssl::verify_none : asio::ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> s(ex, ctx);
    auto& tcp_layer = beast::get_lowest_layer(s);
    tcp_layer.expires_at(deadline);
    auto [cec, ep] = co_await tcp_layer.async_connect(addrs, use_tuple);
    if (cec) {
      out.error = describe(cec);
      co_return;
    }
    if (!SSL_set_tlsext_host_name(s.native_handle(), at.host.c_str())) {
      out.error = "cannot set the TLS server name";
      co_return;
    }
    if (!opt.insecure) s.set_verify_callback(asio::ssl::host_name_verification(at.host));
    auto [hec] = co_await s.async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (hec) {
      out.error = "TLS handshake failed: " + describe(hec);
      co_return;
    }
    co_await exchange(s, req, out);
  } catch (const std::exception& e) {
    out.error = e.what();
  }
}

}  // namespace

std::string parse_url(const std::string& url, endpoint& out) {
  auto u = boost::urls::parse_uri(url);
  if (!u) return "not a URL: '" + url + "' (expected http://host:port or https://host:port)";
  auto scheme = u->scheme();
  if (scheme != "http" && scheme != "https")
    return "'" + url + "': the scheme must be http or https";
  out.tls = scheme == "https";
  out.host = u->host_address();
  if (out.host.empty()) return "'" + url + "': no host";
  out.port = u->has_port() ? std::string(u->port()) : (out.tls ? "443" : "80");
  if (u->has_query() || u->has_fragment()) return "'" + url + "': no query or fragment, please";
  out.base_path = u->encoded_path();
  while (!out.base_path.empty() && out.base_path.back() == '/') out.base_path.pop_back();
  return {};
}

call_result http_call(const endpoint& at, const call_options& opt, const std::string& method,
                      const std::string& target, const std::string& body) {
  call_result out;
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), at.base_path + target, 11};
  bool v6 = at.host.find(':') != std::string::npos;
  req.set(bhttp::field::host, (v6 ? "[" + at.host + "]" : at.host) + ":" + at.port);
  req.set(bhttp::field::user_agent, "dmq-cli");
  req.set(bhttp::field::accept, "application/json");
  if (!opt.token.empty()) req.set(bhttp::field::authorization, "Bearer " + opt.token);
  if (!body.empty() || method == "POST") {
    req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
  }
  req.keep_alive(false);
  req.prepare_payload();
  {
    asio::io_context ioc;
    bool done = false;
    util::spawn(
        ioc,
        [](const endpoint& at, const call_options& opt, bhttp::request<bhttp::string_body>& req,
           call_result& out, bool& done) -> asio::awaitable<void> {
          co_await call(at, opt, req, out);
          done = true;
        }(at, opt, req, out, done),
        "cli http call");
    // The streams' own deadline covers connect, TLS and the exchange; this bound covers name
    // resolution too (a resolver cannot be given a deadline).
    ioc.run_for(opt.timeout + std::chrono::milliseconds(200));
    if (!done) {
      out = call_result{};
      out.error = "timeout";
    }
  }
  return out;
}

}  // namespace dmq::cli
