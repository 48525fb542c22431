#include "ingest/envelope.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace dmq::ingest {

std::string envelope(errc code, std::string_view message, const boost::json::value& data) {
  boost::json::object o;
  o["code"] = static_cast<int>(code);
  o["message"] = message;
  o["data"] = data;
  return boost::json::serialize(o);
}

http::response reply(errc code, std::string_view message, const boost::json::value& data,
                     int status) {
  return {status, envelope(code, message, data)};
}

}  // namespace dmq::ingest
