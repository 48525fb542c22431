// http_request: bytes a client sends, read as the server reads them (http/request_reader.h):
// Beast's parser within the server's limits, the refusal of what it cannot serve, and the
// conversion into http::request, request after request on one connection (keep-alive,
// pipelining). The bytes are read twice, at once and in pieces of 7 bytes, as a socket may
// deliver them; both readings must agree (agree()). A refusal's answer must be valid UTF-8
// JSON, and a request's path and query parameters readable.
#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/json/parse.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http/request_reader.h"

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using namespace dmq;

namespace {

// memory_stream: a SyncReadStream over bytes, at most piece bytes per read, then end of file.
struct memory_stream {
  std::string_view data;
  std::size_t piece;

  template <class Buffers>
  std::size_t read_some(const Buffers& b, boost::system::error_code& ec) {
    if (data.empty()) {
      ec = asio::error::eof;
      return 0;
    }
    ec = {};
    auto n = asio::buffer_copy(b, asio::buffer(data.data(), std::min(piece, data.size())));
    data.remove_prefix(n);
    return n;
  }
  template <class Buffers>
  std::size_t read_some(const Buffers& b) {
    boost::system::error_code ec;
    auto n = read_some(b, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
};

// check fails the run (a crash libFuzzer reports) when ok is false.
void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "http_request: %s\n", what);
  std::abort();
}

// check_answer checks the server's default answer to a refusal: valid UTF-8 JSON (Boost.JSON
// refuses invalid UTF-8), code 128.
void check_answer(const http::refusal& r) {
  if (r.status == 0 || r.status == 413) return;  // no answer, or the API's (too_large)
  auto resp = http::malformed_answer(r.status, r.why);
  boost::system::error_code ec;
  auto v = boost::json::parse(resp.body, ec);
  check(!ec && v.is_object() && v.at("code") == 128, "a refusal's answer is not the envelope");
}

// read_part feeds rd from s as the server's read_some_of does from its socket.
boost::system::error_code read_part(memory_stream& s, boost::beast::flat_buffer& buf,
                                    http::request_reader& rd) {
  for (;;) {
    auto ec = rd.feed(buf);
    if (ec != bhttp::error::need_more) return ec;
    boost::system::error_code rec;
    auto n = s.read_some(buf.prepare(16 * 1024), rec);
    if (rec) return rec;
    buf.commit(n);
  }
}

// read_all reads every request of data as the server's session loop does, and returns what
// it saw: per request its method, target and body, then how the connection ended.
std::vector<std::string> read_all(std::string_view data, std::size_t piece) {
  // Small limits, so that 413 and 431 are in reach of small inputs.
  constexpr std::size_t max_body_bytes = 1024, max_head_bytes = 512;
  std::vector<std::string> seen;
  memory_stream s{data, piece};
  boost::beast::flat_buffer buf;
  for (;;) {
    http::request_reader rd(max_body_bytes, max_head_bytes);
    auto ec = read_part(s, buf, rd);
    auto refused = ec ? rd.refusal_for(ec) : rd.refusal_for_head();
    if (!ec && !refused.status && !rd.done()) {
      ec = read_part(s, buf, rd);
      if (ec) refused = rd.refusal_for(ec);
    }
    if (ec || refused.status) {
      check_answer(refused);
      seen.push_back("end " + std::to_string(refused.status) + " " + refused.why);
      return seen;
    }
    bool keep_alive = rd.keep_alive();
    auto r = rd.release();
    (void)r.path();
    bool present = false;
    auto id = r.query_param("msg_id", &present);
    check(present || id.empty(), "an absent query parameter has a value");
    (void)r.query_param("consumer");
    seen.push_back(r.method + " " + r.target + " " + r.body);
    if (!keep_alive) return seen;
  }
}

// agree says whether the readings at once and in pieces agree: the same requests, and the
// same end, except in one case. Once a head is incomplete, Beast parses no more of it until
// its end has come (it skips what it searched), so a syntax error in a head that never ends
// is found (400, 505) when the bytes come at once, not when they come in pieces (the peer
// closes: 0; or the head limit passes: 431). Nothing is served either way. Likewise a head
// over the limit that declares a Content-Length over the body limit: at once Beast sees the
// whole head and checks the Content-Length first (413); in pieces the head limit passes
// first (431). Both refuse the request before any of its body is read.
bool agree(const std::vector<std::string>& whole, const std::vector<std::string>& pieces) {
  if (whole.size() != pieces.size()) return false;
  if (!std::equal(whole.begin(), whole.end() - 1, pieces.begin())) return false;
  const auto &a = whole.back(), &b = pieces.back();
  auto starts = [](const std::string& s, const char* p) { return s.rfind(p, 0) == 0; };
  return a == b ||
         ((starts(a, "end 400 ") || starts(a, "end 505 ")) &&
          (starts(b, "end 0 ") || starts(b, "end 431 "))) ||
         (starts(a, "end 413 ") && starts(b, "end 431 "));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto whole = read_all(bytes, bytes.size() + 1);
  auto pieces = read_all(bytes, 7);
  if (!agree(whole, pieces)) {
    for (const auto& [name, seen] : {std::pair{"at once", &whole}, std::pair{"in pieces", &pieces}})
      for (const auto& s : *seen) std::fprintf(stderr, "%s: %s\n", name, s.c_str());
    check(false, "the requests differ when the bytes come in pieces");
  }
  return 0;
}
