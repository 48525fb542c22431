// wake: the wake-up message a save (or retry, pause, reschedule) publishes on a project's
// wake channel (keys::wake_channel) so that its consumer's dispatchers look at their queue
// now: "<consumer> <due_ms>". Built and read here for C++, in scripts/lib/wake.lua for Lua.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dmq::storage {

// wake_message returns the message waking consumer's dispatchers for a delivery due at
// due_ms (0: look now).
inline std::string wake_message(std::string_view consumer, std::int64_t due_ms) {
  return std::string(consumer).append(" ").append(std::to_string(due_ms));
}

// wake_consumer returns the consumer a wake message names (all of it if it has no due time).
inline std::string_view wake_consumer(std::string_view message) {
  return message.substr(0, message.rfind(' '));
}

}  // namespace dmq::storage
