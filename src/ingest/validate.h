// validate: turning one JSON message from a producer into a model::message, in the seed's
// order of checks: required fields and types, then the producer (project listed and caller
// allowed), then the cmd (configured and of that project). A refusal names the field and why.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstdint>
#include <string>
#include <variant>

#include "config/config.h"
#include "ingest/access.h"
#include "ingest/errc.h"
#include "model/message.h"

namespace dmq::ingest {

struct refusal {
  errc code;
  std::string text;  // "bucket: must be a non-empty string"
};

struct accepted {
  model::message msg;                // id not yet assigned
  const config::command* command;    // its consumers
  const config::producer* producer;  // its project (the idempotency window)
};

// latest_timestamp is 9999-12-31T23:59:59Z: a larger timestamp is milliseconds sent by mistake.
constexpr std::int64_t latest_timestamp = 253402300799;

// validate_message checks v and returns the message to save, or why it is refused.
// who is the caller: the producer must let it send (ingest/access.h). header_key is the
// request's Idempotency-Key header (/single), empty if none: it must agree with the body's
// idempotency_key. The key is the message's request_id if the project says so, and none
// at all if the project's idempotency_window is 0.
std::variant<accepted, refusal> validate_message(const boost::json::value& v,
                                                 const config::settings& cfg, const credential& who,
                                                 std::int64_t now_ms,
                                                 std::string_view header_key = {});

// parse_id reads a message id given as a JSON integer or a decimal string; 0 if invalid.
std::uint64_t parse_id(const boost::json::value& v);
// parse_id reads a message id from text; 0 if it is not a positive decimal integer.
std::uint64_t parse_id_text(std::string_view text);

}  // namespace dmq::ingest
