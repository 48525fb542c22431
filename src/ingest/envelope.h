// envelope: the seed's response body {"code": int, "message": string, "data": any}.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "http/message.h"
#include "ingest/errc.h"

namespace dmq::ingest {

// envelope returns the serialized body {code, message, data}. It is always valid UTF-8:
// text taken from a request (a path, a query parameter) may not be, and is repaired.
std::string envelope(errc code, std::string_view message, const boost::json::value& data);

// reply returns an HTTP response (status 200 unless given) carrying an envelope.
http::response reply(errc code, std::string_view message, const boost::json::value& data,
                     int status = 200);

// ok returns a success response with data.
inline http::response ok(const boost::json::value& data) {
  return reply(errc::ok, "", data);
}

// fail returns an error response whose data is the message text too, as the seed did for
// refused input; pass data explicitly when it should be otherwise (false, null).
inline http::response fail(errc code, std::string_view message, int status = 200) {
  return reply(code, message, boost::json::string(message), status);
}

// is_utf8 says whether s is well-formed UTF-8 (no overlong forms, no surrogates, at most
// U+10FFFF), as RFC 3629 defines it.
bool is_utf8(std::string_view s);
// to_utf8 returns s with each byte that is not part of a well-formed UTF-8 sequence
// replaced by U+FFFD, the replacement character; s itself if it is well-formed.
std::string to_utf8(std::string_view s);

}  // namespace dmq::ingest
