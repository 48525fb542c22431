// errc: the API's error codes, as the envelope's "code". 0 and 100-116 are the seed's
// (NOTES.md); 120 and up are dmq's own. Documented in README.md ("Error codes").
#pragma once

namespace dmq::ingest {

enum class errc : int {
  ok = 0,
  internal = 100,          // seed: default
  bad_json = 101,          // seed: parse params failed
  invalid = 102,           // seed: validation failed (which field, why)
  unknown_producer = 103,  // seed: project not listed, or caller not allowed
  unknown_command = 104,   // seed: cmd not configured, or of another project
  save_failed = 106,       // seed: redis save
  status_failed = 113,     // seed: get status failed
  message_failed = 114,    // seed: get message failed (also: no such message)
  pending_failed = 116,    // seed: get pending failed
  not_found = 120,         // no such path
  method_not_allowed = 121,
  body_too_large = 122,
  solved_failed = 123,  // redis failed during /solved
  unhealthy = 124,      // /healthz: redis is down (or no id node leased)
  retry_failed = 125,   // redis failed during /retry
  cannot_cancel = 126,  // /cancel: a delivery has started, or the message is settled
  cancel_failed = 127,  // redis failed during /cancel
  bad_request = 128,    // a malformed HTTP request (400, 431, 505), answered before closing
  overloaded = 129,     // /single, /batch: too many saves wait for Redis (503, Retry-After)
  read_failed = 130,    // redis failed during an operators' read (find, scheduled, stats, ...)
  write_failed = 131,   // redis failed during an operators' write (reschedule, pause, jobs)
};

}  // namespace dmq::ingest
