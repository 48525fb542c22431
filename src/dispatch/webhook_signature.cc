#include "dispatch/webhook_signature.h"

#include "util/crypto.h"

namespace dmq::dispatch {

std::string webhook_signature(std::string_view id, std::int64_t unix_seconds, std::string_view body,
                              const std::vector<std::string>& secrets) {
  std::string out;
  if (secrets.empty()) return out;
  std::string signed_text;
  signed_text.reserve(id.size() + body.size() + 24);
  signed_text.append(id).append(".").append(std::to_string(unix_seconds)).append(".").append(body);
  for (const auto& key : secrets) {
    if (!out.empty()) out += ' ';
    out += "v1,";
    out += util::base64(util::as_view(util::hmac_sha256(key, signed_text)));
  }
  return out;
}

}  // namespace dmq::dispatch
