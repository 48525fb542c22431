// id_body: a body POSTed to /api/message/solved, /retry and /cancel, through the API as the
// server calls it (api_harness.h): the {"consumer", "msg_ids"} list of /solved and /retry,
// the {"msg_id", "project"} of /cancel. Redis is absent, so a body that passes every check
// is answered with the path's Redis failure (123, 125, 127). Every answer must be the
// envelope, valid UTF-8, with a code the path uses.
#include "api_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static dmq::fuzz::api_harness h;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  dmq::fuzz::check_envelope(h.post("/api/message/solved", body), {101, 102, 123});
  dmq::fuzz::check_envelope(h.post("/api/message/retry", body), {101, 102, 125});
  dmq::fuzz::check_envelope(h.post("/api/message/cancel", body), {101, 102, 103, 127});
  return 0;
}
