// json_body: reading a request body as JSON, shared by the API's handlers.
#pragma once

#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>

namespace dmq::ingest {

// parse_body parses a request body as JSON (UTF-8 checked); nullopt (and why) if it is not.
// The value's memory comes from sp: a monotonic_resource of the handler saves the
// allocation of every string, array and object of the body.
std::optional<boost::json::value> parse_body(const std::string& body, std::string& why,
                                             boost::json::storage_ptr sp);

}  // namespace dmq::ingest
