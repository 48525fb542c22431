#include "dispatch/attempt_entry.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace dmq::dispatch {

namespace {

bool contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

// sequence_length returns the length of the well-formed UTF-8 sequence that starts s (no
// overlong forms, no surrogates, at most U+10FFFF); 0 if none does; -1 if s is a
// well-formed sequence's start cut short.
int sequence_length(std::string_view s) {
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = b(0);
  if (c < 0x80) return 1;
  // The sequence's length, and the range of its second byte (RFC 3629's table).
  int n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
  unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
  unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
  if (c < 0xC2 || c > 0xF4) return 0;  // a continuation byte, overlong, or past U+10FFFF
  for (int i = 1; i < n; ++i) {
    if (static_cast<std::size_t>(i) >= s.size()) return -1;
    auto x = b(i);
    if (i == 1 ? (x < lo || x > hi) : (x < 0x80 || x > 0xBF)) return 0;
  }
  return n;
}

}  // namespace

std::string_view error_kind(int http_status, std::string_view error) {
  if (http_status >= 200 && http_status < 300) return "";
  if (http_status != 0) return "http";
  // The texts of http/client.cc and of Boost.Asio, Beast and OpenSSL's error codes.
  if (error == "timeout" || contains(error, "timed out")) return "timeout";
  if (error.starts_with("cannot resolve")) return "dns";
  if (contains(error, "refused")) return "refused";
  if (contains(error, "TLS") || contains(error, "SSL") || contains(error, "ssl") ||
      contains(error, "certificate") || contains(error, "stream truncated") ||
      contains(error, "handshake"))
    return "tls";
  if (contains(error, "reset") || contains(error, "Broken pipe") ||
      contains(error, "End of file") || contains(error, "end of stream") ||
      contains(error, "aborted"))
    return "reset";
  if (error.starts_with("bad ") || contains(error, "partial message") ||
      contains(error, "limit exceeded") || contains(error, "buffer overflow"))
    return "http";
  return "other";
}

std::string repair_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    int n = sequence_length(s.substr(i));
    if (n < 0) break;  // cut short at the end
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
      continue;
    }
    out.append(s.substr(i, static_cast<std::size_t>(n)));
    i += static_cast<std::size_t>(n);
  }
  return out;
}

std::string to_json(const attempt_entry& e, std::size_t max_answer) {
  boost::json::object o;
  o["attempt"] = e.attempt;
  o["start_ms"] = e.start_ms;
  o["duration_ms"] = e.duration_ms;
  o["outcome"] = e.outcome;
  o["http_status"] = e.http_status;
  o["error"] = e.error;
  o["answer"] = repair_utf8(e.answer.substr(0, max_answer));
  o["dispatcher"] = e.dispatcher;
  return boost::json::serialize(o);  // escapes control characters: never a raw newline
}

}  // namespace dmq::dispatch
