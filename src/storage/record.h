// record: a message and its per-consumer statuses as one Redis STRING, <base>m:<id>.
// The Lua scripts read and write the same format (src/storage/scripts/lib/record.lua);
// docs/storage.md describes it.
//
// The string is a list of fields, each "<length in bytes>:<bytes>": due_ms, create_ms,
// data_expire_at_ms, cmd, bucket, request_id, params, then per consumer: name, status,
// attempts. One STRING rather than a HASH because a HASH with a value over 64 bytes (any
// real params) is stored as a hashtable, about three times the memory.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/message.h"

namespace dmq::storage {

struct consumer_state {
  std::string name;
  std::string status;  // waiting, doing, done, failure, cancelled
  int attempts = 0;
};

struct record {
  model::message msg;  // id and project are not stored in the record
  std::int64_t data_expire_at_ms = 0;
  std::vector<consumer_state> consumers;

  // status returns consumer's state, nullptr if the message has none for it.
  const consumer_state* status(std::string_view consumer) const;
};

// encode_record writes a new message's record: every consumer "waiting", 0 attempts.
std::string encode_record(const model::message& m, std::int64_t data_expire_at_ms,
                          std::span<const std::string> consumers);
// encode writes any record.
std::string encode(const record& r);

// decode_record parses a record; nullopt if it is not one.
std::optional<record> decode_record(std::string_view s);

}  // namespace dmq::storage
