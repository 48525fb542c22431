// message: one message as producers send it and as dmq stores it.
#pragma once

#include <cstdint>
#include <string>

namespace dmq::model {

struct message {
  std::uint64_t id = 0;
  std::string project;
  std::string cmd;
  std::string params;  // passed to consumers untouched, may be empty
  std::string bucket;
  std::string request_id;       // sent to consumers as X-<request_trace_id_key>, may be empty
  std::string idempotency_key;  // the producer's; a second message with it is not stored
  std::int64_t due_ms = 0;      // when it is to be delivered, ms since the Unix epoch
  std::int64_t create_ms = 0;   // when dmq accepted it

  // timestamp returns the due time in seconds, as the seed's API reports it.
  std::int64_t timestamp() const { return due_ms / 1000; }
};

}  // namespace dmq::model
