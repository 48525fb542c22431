// record: a message and its per-consumer statuses as one Redis STRING, <base>m:<id>.
// The Lua scripts read and write the same format (src/storage/scripts/lib/record.lua);
// docs/storage.md describes it.
//
// The string is a list of fields, each "<length in bytes>:<bytes>". Two versions exist:
//   v2 (written since 2026-12-05): "~<due>,<due - create>,<data expiry - due>," (signed
//      base-36 numbers of ms), then cmd, bucket, request_id, params, then per consumer:
//      name, state (a status letter and the attempts in decimal: "w0", "d1", "f5");
//   v1 (before): due_ms, create_ms, data_expire_at_ms (decimal), cmd, bucket, request_id,
//      params, then per consumer: name, status, attempts.
// Both are read; a v1 record is recognised by its first byte, a digit (v2 starts with '~').
// v2 is 33-39 bytes shorter (docs/storage.md). One STRING rather than a HASH
// because a HASH with a value over 64 bytes (any real params) is stored as a hashtable,
// about three times the memory.
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

// encode_record writes a new message's record (v2): every consumer "waiting", 0 attempts.
std::string encode_record(const model::message& m, std::int64_t data_expire_at_ms,
                          std::span<const std::string> consumers);
// encode writes any record: v2, or v1 if a status is none of the five above (v2 has a
// letter for each of those only; dmq writes no other).
std::string encode(const record& r);
// encode_v1 writes r in the format before v2: what an older Redis may still hold (tests).
std::string encode_v1(const record& r);

// decode_record parses a record of either version; nullopt if it is not one.
std::optional<record> decode_record(std::string_view s);

}  // namespace dmq::storage
