#include "ingest/envelope.h"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace dmq::ingest {

// envelope writes the three members in the seed's order without building a json::object:
// on the hot path (data an id, message empty) it allocates only the string it returns.
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
  return out;
}

http::response reply(errc code, std::string_view message, const boost::json::value& data,
                     int status) {
  return {status, envelope(code, message, data)};
}

}  // namespace dmq::ingest
