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
  int n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c == 0xE0) n = 3, lo = 0xA0;
  else if (c >= 0xE1 && c <= 0xEC) n = 3;
  else if (c == 0xED) n = 3, hi = 0x9F;
  else if (c >= 0xEE && c <= 0xEF) n = 3;
  else if (c == 0xF0) n = 4, lo = 0x90;
  else if (c >= 0xF1 && c <= 0xF3) n = 4;
  else if (c == 0xF4) n = 4, hi = 0x8F;
  else return 0;
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
  if (contains(error, "reset") || contains(error, "Broken pipe") || contains(error, "End of file") ||
      contains(error, "end of stream") || contains(error, "aborted"))
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
