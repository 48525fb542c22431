#include "http/request_reader.h"

#include <boost/beast/core/string.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <cctype>

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace dmq::http {

namespace {

// other_version returns the version "x.y" that the request line at the start of bytes
// names, when it is well-formed ("METHOD TARGET HTTP/x.y" CRLF) but not 1.0 or 1.1, which
// is what Beast calls a bad version then; empty otherwise (a line that is just malformed).
std::string other_version(std::string_view bytes) {
  auto eol = bytes.find("\r\n");
  if (eol == std::string_view::npos) return {};
  auto line = bytes.substr(0, eol);
  auto v = line.substr(line.rfind(' ') + 1);  // npos + 1 == 0: the whole line
  auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || !digit(v[5]) || v[6] != '.' || !digit(v[7]))
    return {};
  if (v == "HTTP/1.0" || v == "HTTP/1.1") return {};
  return std::string(v.substr(5));
}

bool is_http_error(const boost::system::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::need_more).category();
}

std::string header(const bhttp::request<bhttp::string_body>& req, std::string_view name) {
  auto it = req.find(name);
  return it == req.end() ? std::string{} : std::string(it->value());
}

// all_lines returns every line of the field name joined with ", " in the order sent, as
// RFC 9110 5.3 combines a field's lines (and nginx does for X-Forwarded-For): a client's
// own line must not hide the line a proxy added after it.
std::string all_lines(const bhttp::request<bhttp::string_body>& req, std::string_view name) {
  std::string out;
  auto [first, last] = req.equal_range(name);
  for (auto it = first; it != last; ++it) {
    if (!out.empty()) out += ", ";
    out += it->value();
  }
  return out;
}

// dmq_fields returns every X-Dmq-* field (what a dispatcher sends a consumer) as
// "Name: value" joined with ", ", for `dmq demo-consumer`'s log; empty for API requests.
std::string dmq_fields(const bhttp::request<bhttp::string_body>& req) {
  static constexpr std::string_view prefix = "x-dmq-";
  std::string out;
  for (const auto& f : req) {
    auto name = f.name_string();
    if (name.size() <= prefix.size() || !beast::iequals(name.substr(0, prefix.size()), prefix))
      continue;
    if (!out.empty()) out += ", ";
    out.append(name).append(": ").append(f.value());
  }
  return out;
}

}  // namespace

request_reader::request_reader(std::size_t max_body_bytes, std::size_t max_head_bytes)
    : max_head_bytes_(max_head_bytes), max_wire_bytes_(max_head_bytes + 2 * max_body_bytes) {
  p_.body_limit(max_body_bytes);
}

boost::system::error_code request_reader::feed(beast::flat_buffer& buf) {
  bool had_head = p_.is_header_done();
  if (!had_head)  // Beast checks its limit on what one call sees: give it what is left
    p_.header_limit(static_cast<std::uint32_t>(max_head_bytes_ - std::min(used_, max_head_bytes_)));
  else
    p_.eager(true);  // the whole body, not one piece per call
  boost::system::error_code ec;
  auto n = p_.put(buf.data(), ec);
  buf.consume(n);
  used_ += n;
  if (ec == bhttp::error::bad_version) {
    auto rest = buf.cdata();
    other_version_ = other_version({static_cast<const char*>(rest.data()), rest.size()});
  }
  // A head not complete within the limit: Beast may only say need_more here, as it skips
  // the bytes it already searched for the head's end (its limit counts from where it is).
  if (ec == bhttp::error::need_more && !had_head && used_ + buf.size() >= max_head_bytes_)
    return bhttp::error::header_limit;
  if (ec) return ec;
  if (used_ > max_wire_bytes_) return bhttp::error::body_limit;
  if (!had_head && p_.is_header_done())  // (Beast's limit starts after the request line)
    return used_ > max_head_bytes_ ? bhttp::error::header_limit : boost::system::error_code{};
  if (p_.is_done()) return {};
  return bhttp::error::need_more;
}

bool request_reader::expects_continue() const {
  return beast::iequals(p_.get()[bhttp::field::expect], "100-continue");
}

refusal request_reader::refusal_for(const boost::system::error_code& ec) const {
  if (!is_http_error(ec)) return {};  // the socket's: reset, closed, cancelled by a timeout
  switch (static_cast<bhttp::error>(ec.value())) {
    case bhttp::error::end_of_stream:    // closed between requests
    case bhttp::error::partial_message:  // closed mid-request
    case bhttp::error::need_more:
      return {};
    case bhttp::error::body_limit:
      return {413, "body: larger than the limit"};
    case bhttp::error::header_limit:
      return {431, "request header fields too large: the limit is " +
                       std::to_string(max_head_bytes_) + " bytes"};
    case bhttp::error::bad_version:
      if (!other_version_.empty())
        return {505, "HTTP version " + other_version_ + " not supported: use HTTP/1.1"};
      [[fallthrough]];
    default:  // bad method, target, field, value, Content-Length, chunk, ...
      return {400, "malformed request: " + ec.message()};
  }
}

refusal request_reader::refusal_for_head() const {
  if (p_.get().count(bhttp::field::transfer_encoding) != 0 && !p_.chunked())
    return {400, "malformed request: Transfer-Encoding must end with chunked"};
  return {};
}

request request_reader::release() {
  auto req = p_.release();
  request r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  r.content_type = header(req, "Content-Type");
  r.forwarded_for = all_lines(req, "X-Forwarded-For");
  r.real_ip = all_lines(req, "X-Real-Ip");  // two lines: "a, b", refused as not one address
  r.authorization = all_lines(req, "Authorization");
  r.idempotency_key = all_lines(req, "Idempotency-Key");
  r.if_none_match = all_lines(req, "If-None-Match");
  r.body = std::move(req.body());
  r.dmq_headers = dmq_fields(req);
  return r;
}

response malformed_answer(int status, std::string_view why) {
  response r;
  r.status = status;
  r.body = R"({"code":128,"message":)" + boost::json::serialize(boost::json::string(why)) +
           R"(,"data":null})";
  return r;
}

}  // namespace dmq::http
