// envelope: the seed's response body {"code": int, "message": string, "data": any}.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "http/message.h"
#include "ingest/errc.h"

namespace dmq::ingest {

// envelope returns the serialized body {code, message, data}.
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

}  // namespace dmq::ingest
