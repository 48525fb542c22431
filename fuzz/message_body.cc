// message_body: a body POSTed to /api/message/single and to /api/message/batch, through the
// API as the server calls it (api_harness.h): JSON parsed into the handler's arena, each
// message checked (ingest/validate.h) against the e2e tests' configuration, the answer
// made. Redis is absent, so what passes every check is answered "not saved" (106, or false
// in a batch). Every answer must be the envelope, valid UTF-8, with a code these paths use.
#include "api_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static dmq::fuzz::api_harness h;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  dmq::fuzz::check_envelope(h.post("/api/message/single", body), {101, 102, 103, 104, 106});
  auto batch = dmq::fuzz::check_envelope(h.post("/api/message/batch", body), {0, 101, 102});
  if (batch.at("code") == 0) {  // one entry per message: an id, false, or why it was refused
    const auto& d = batch.at("data");
    dmq::fuzz::check(d.is_array() && !d.get_array().empty(), "a batch answer without a list", body);
    for (const auto& e : d.get_array())
      dmq::fuzz::check(e.is_string() || e.is_bool(), "a batch entry neither refused nor false");
  }
  return 0;
}
