// webhook_signature: the Standard Webhooks signature of a delivery
// (https://www.standardwebhooks.com): the value of its `webhook-signature` header.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dmq::dispatch {

// webhook_signature returns "v1,<base64 of HMAC-SHA256(key, id.unix_seconds.body)>" for each
// key of secrets (the decoded bytes of each whsec_ secret), in order, separated by one
// space: a consumer that knows any one of the keys can verify the delivery, so a secret is
// rotated by listing the new one beside the old. Empty if secrets is empty.
std::string webhook_signature(std::string_view id, std::int64_t unix_seconds, std::string_view body,
                              const std::vector<std::string>& secrets);

}  // namespace dmq::dispatch
