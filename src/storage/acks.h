// acks: many delivery outcomes recorded in one script call (ack_batch-1.lua), each only if
// its lease is still ours, as store::ack records one (docs/delivery.md, "At least once").
// The dispatcher sends a burst's outcomes together: one round trip and one script call for
// up to dispatch.claim_batch of them instead of one each.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/store.h"

namespace dmq::storage {

// ack_item: one outcome to record, with store::ack's arguments (the viewed strings must
// outlive the call).
struct ack_item {
  std::uint64_t id = 0;
  std::int64_t lease_until = 0;  // the lease that is ours (the claim's, or a renewal's)
  std::int64_t other_lease = 0;  // another lease_until that may be ours (a renewal's), or 0
  outcome what = outcome::done;
  std::int64_t at_ms = 0;        // retry: the next attempt's time; release: due again at
  std::int64_t timestamp_s = 0;  // failure: the pending list's score
  std::string_view bucket;       // an ordered command's bucket, or empty
  std::string_view history;      // an attempt history entry, or empty
};

// ack_batch records items (all of one consumer's queue) in one call of ack_batch-1;
// returns per item whether its lease was still ours (and so it was recorded). keep: how
// many attempt history entries are kept (dispatch.attempt_history). Redis runs the whole
// call at once: callers keep items to a few hundred.
boost::asio::awaitable<result<std::vector<bool>>> ack_batch(store& s, std::string_view project,
                                                            std::string_view consumer,
                                                            std::span<const ack_item> items,
                                                            int keep);

}  // namespace dmq::storage
