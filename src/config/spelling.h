// spelling: which known key a mistyped one was probably meant to be, so the loader can say
// "unknown key 'retry_time' (did you mean 'retry_times'?)".
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dmq::config {

// edit_distance returns the optimal string alignment distance between a and b: the fewest
// insertions, deletions, substitutions and swaps of two neighbouring characters that turn
// a into b ("appendfsinc" -> "appendfsync": 1; "retyr" -> "retry": 1).
std::size_t edit_distance(std::string_view a, std::string_view b);

// nearest_key returns the candidate that key was most probably meant to be, or nullopt when
// none is close. A dotted key also matches a candidate by its last part, so "appendfsync"
// written at the top level suggests "redis.appendfsync". Close: at most 1 edit for names of
// up to 4 characters, 2 up to 8, else 3. Ties go to the earlier candidate.
std::optional<std::string> nearest_key(std::string_view key,
                                       const std::vector<std::string_view>& candidates);

}  // namespace dmq::config
