// attempt_entry: what the attempt history keeps of one delivery attempt (docs/storage.md,
// "Attempt history"), and how a failed attempt's error is classified for it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dmq::dispatch {

struct attempt_entry {
  int attempt = 1;
  std::int64_t start_ms = 0;  // Redis's clock
  std::int64_t duration_ms = 0;
  std::string_view outcome;  // done | retry | failure
  int http_status = 0;       // 0: no answer
  std::string_view error;    // error_kind()
  std::string_view answer;   // the first bytes of the answer's body, as received
  std::string_view dispatcher;
};

// error_kind classifies an attempt by its answer's status (0: none) and the HTTP client's
// error text: "" (2xx), "http" (another status, or an answer that is not HTTP), "refused",
// "timeout", "tls", "reset" (the connection was reset or closed before an answer), "dns"
// (the host name did not resolve) or "other".
std::string_view error_kind(int http_status, std::string_view error);

// to_json returns e as one compact JSON object (no newline, so entries can be joined by
// newlines), its answer cut to max_answer bytes and repaired to UTF-8.
std::string to_json(const attempt_entry& e, std::size_t max_answer);

// repair_utf8 returns s with each byte that does not belong to a well-formed UTF-8 sequence
// replaced by U+FFFD; a sequence cut short at the end of s (by max_answer) is dropped.
std::string repair_utf8(std::string_view s);

}  // namespace dmq::dispatch
