#include "ingest/json_body.h"

#include <boost/json/stream_parser.hpp>

namespace json = boost::json;

namespace dmq::ingest {

std::optional<json::value> parse_body(const std::string& body, std::string& why,
                                      json::storage_ptr sp) {
  unsigned char temp[512];  // the parser's own stack, for bodies not nested too deep
  json::stream_parser p({}, {}, temp);
  p.reset(std::move(sp));
  boost::system::error_code ec;
  auto used = p.write(body.data(), body.size(), ec);
  if (!ec) p.finish(ec);
  if (ec) {
    why = "invalid JSON at byte " + std::to_string(used) + ": " + ec.message();
    if (body.empty()) why = "invalid JSON: the body is empty";
    return std::nullopt;
  }
  return p.release();
}

}  // namespace dmq::ingest
