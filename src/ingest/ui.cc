#include "ingest/ui.h"

#include <string>

#include "ingest/envelope.h"

namespace dmq::ingest {

namespace {

// The headers of every dashboard answer. The page builds its DOM from data with
// textContent only; the policy is the second line of defence: no script, style, frame or
// connection but dmq's own, no inline script or style, no <base>, not framed by another
// site (clickjacking on its buttons).
constexpr std::string_view security_headers =
    "\r\nContent-Security-Policy: default-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'; object-src 'none'"
    "\r\nX-Content-Type-Options: nosniff"
    "\r\nReferrer-Policy: no-referrer"
    "\r\nX-Frame-Options: DENY";

// matches says whether an If-None-Match value names etag: a list of entity tags, weak
// (W/"...") or strong, or "*".
bool matches(std::string_view if_none_match, std::string_view etag) {
  while (!if_none_match.empty()) {
    auto comma = if_none_match.find(',');
    auto item = if_none_match.substr(0, comma);
    if_none_match = comma == std::string_view::npos ? "" : if_none_match.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.starts_with("W/")) item.remove_prefix(2);
    if (item == "*" || item == etag) return true;
  }
  return false;
}

http::response with_security(http::response r) {
  r.headers.append(security_headers);
  return r;
}

}  // namespace

bool is_ui_path(std::string_view path) {
  return path == "/ui" || path.starts_with("/ui/");
}

http::response serve_ui(const http::request& req) {
  auto path = req.path();
  if (req.method != "GET")
    return with_security(fail(errc::method_not_allowed, std::string(path) + ": use GET", 405));
  if (path == "/ui") {
    // Relative URLs in the page (app.js, the API's /api/...) need the trailing slash.
    http::response r;
    r.status = 301;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "moved to /ui/\n";
    r.headers = "\r\nLocation: /ui/";
    return with_security(std::move(r));
  }
  auto name = path.substr(4);  // after "/ui/"
  if (name.empty()) name = "index.html";
  for (const auto& a : ui_assets()) {
    if (a.name != name) continue;
    http::response r;
    r.content_type = a.content_type;
    // no-cache: the browser may keep a copy but asks each time; the ETag makes that a 304
    // without a body, and a new dmq's assets are seen at the next load.
    r.headers.append("\r\nETag: ").append(a.etag).append("\r\nCache-Control: no-cache");
    if (matches(req.if_none_match, a.etag)) {
      r.status = 304;
    } else {
      r.body = std::string(a.body);
    }
    return with_security(std::move(r));
  }
  return with_security(fail(errc::not_found, "no such path: " + std::string(path), 404));
}

}  // namespace dmq::ingest
