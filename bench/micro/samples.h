// samples: the inputs the micro-benchmarks share, shaped like the load of bench/wrk/*.lua
// (W1, W2): one message to svs:notice:user with its own bucket and ~100 bytes of params.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/message.h"

namespace dmq::micro {

// now_ms: a fixed clock, so every run sees the same input.
constexpr std::int64_t now_ms = 1795000000123;

// params returns ~100 bytes of JSON params, as the benchmarks' producers send.
inline std::string params(int i) {
  return R"({"user_id":)" + std::to_string(100000 + i) +
         R"(,"template":"order_shipped","locale":"en_GB","channel":"email","note":"xxxxxxxxxx"})";
}

// message_json returns one message of a POST body (/single, or an element of /batch).
inline std::string message_json(int i) {
  return R"({"project":"svs","cmd":"svs:notice:user","bucket":"b-)" + std::to_string(i) +
         R"(","delay_ms":60000,"params":")" +
         [&] {
           std::string p, s = params(i);
           for (char c : s) {
             if (c == '"') p += '\\';
             p += c;
           }
           return p;
         }() +
         "\"}";
}

// batch_json returns a /batch body of n messages.
inline std::string batch_json(int n) {
  std::string b = "[";
  for (int i = 0; i < n; ++i) b += (i ? "," : "") + message_json(i);
  return b + "]";
}

// message returns message i as validate would accept it (id assigned).
inline model::message message(int i) {
  model::message m;
  m.id = 7300000000000000000ULL + static_cast<std::uint64_t>(i);
  m.project = "svs";
  m.cmd = "svs:notice:user";
  m.params = params(i);
  m.bucket = "b-" + std::to_string(i);
  m.due_ms = now_ms + 60000;
  m.create_ms = now_ms;
  return m;
}

inline std::vector<model::message> messages(int n) {
  std::vector<model::message> v;
  for (int i = 0; i < n; ++i) v.push_back(message(i));
  return v;
}

}  // namespace dmq::micro
