#include "ingest/envelope.h"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace dmq::ingest {

namespace {

// utf8_length returns the length of the well-formed UTF-8 sequence at the start of s, or 0
// if s does not start with one (RFC 3629, table 3-7 of the Unicode standard).
std::size_t utf8_length(std::string_view s) {
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  auto cont = [&](std::size_t i, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return i < s.size() && b(i) >= lo && b(i) <= hi;
  };
  unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    // E0: no overlong forms (A0..BF); ED: no UTF-16 surrogates (80..9F).
    unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    // F0: no overlong forms (90..BF); F4: nothing past U+10FFFF (80..8F).
    unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;  // a continuation byte alone, C0, C1, F5..FF
}

}  // namespace

bool is_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    auto n = utf8_length(s.substr(i));
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string to_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    auto n = utf8_length(s.substr(i));
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
      continue;
    }
    out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

// envelope writes the three members in the seed's order without building a json::object:
// on the hot path (data an id, message empty) it allocates only the string it returns.
// Boost.JSON writes the bytes of a string as they are, so a message or data echoing a
// request's raw bytes (the path of a 404, a percent-decoded query parameter) would make
// the body invalid UTF-8, which JSON parsers refuse: the whole body is checked once (JSON
// syntax itself is ASCII, so only bytes inside strings can be replaced).
std::string envelope(errc code, std::string_view message, const boost::json::value& data) {
  std::string out = R"({"code":)";
  out += std::to_string(static_cast<int>(code));
  out += R"(,"message":)";
  if (message.empty())
    out += R"("")";
  else
    out += boost::json::serialize(boost::json::string(message));
  out += R"(,"data":)";
  if (data.is_uint64())
    out += std::to_string(data.get_uint64());
  else if (data.is_int64())
    out += std::to_string(data.get_int64());
  else
    out += boost::json::serialize(data);
  out += '}';
  if (!is_utf8(out)) out = to_utf8(out);
  return out;
}

http::response reply(errc code, std::string_view message, const boost::json::value& data,
                     int status) {
  return {status, envelope(code, message, data)};
}

}  // namespace dmq::ingest
