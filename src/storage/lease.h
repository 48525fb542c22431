// lease: the dispatcher's heartbeat on its leases (docs/delivery.md, "Leases and
// heartbeats"). A claim leases a delivery for a short while (dispatch.heartbeat_lease_ms);
// a live dispatcher renews the leases of its deliveries in flight, so a dispatcher that
// dies loses them within seconds while a slow consumer's delivery is never claimed twice.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "storage/store.h"

namespace dmq::storage {

// held_lease: one delivery whose lease to renew until until_ms, and the two scores that are
// ours (the last renewal answered, and one whose answer may be on its way or lost; equal
// when there is one).
struct held_lease {
  std::uint64_t id = 0;
  std::int64_t until_ms = 0;
  std::int64_t token = 0;
  std::int64_t other = 0;
};

// renew sets the score of each of leases in a consumer's queue to its until_ms if it is
// still ours (renew-1.lua), in one round trip; returns per lease whether it was.
boost::asio::awaitable<result<std::vector<bool>>> renew(store& s, std::string_view project,
                                                        std::string_view consumer,
                                                        std::span<const held_lease> leases);

}  // namespace dmq::storage
