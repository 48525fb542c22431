#include "config/spelling.h"

#include <algorithm>

namespace dmq::config {

namespace {

// last_part returns what follows the last '.' of a dotted key (the key itself if none).
std::string_view last_part(std::string_view key) {
  auto dot = key.rfind('.');
  return dot == std::string_view::npos ? key : key.substr(dot + 1);
}

// allowed_edits returns how many edits still count as a typo of a name of n characters.
std::size_t allowed_edits(std::size_t n) {
  return n <= 4 ? 1 : n <= 8 ? 2 : 3;
}

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Three rows of the dynamic programme: the swap of neighbours looks two rows back.
  std::vector<std::size_t> before(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        cur[j] = std::min(cur[j], before[j - 2] + 1);
    }
    before.swap(prev);
    prev.swap(cur);
  }
  return prev[b.size()];
}

std::optional<std::string> nearest_key(std::string_view key,
                                       const std::vector<std::string_view>& candidates) {
  std::optional<std::string> best;
  std::size_t best_d = allowed_edits(last_part(key).size()) + 1;
  for (auto c : candidates) {
    auto d = std::min(edit_distance(key, c), edit_distance(last_part(key), last_part(c)));
    if (d < best_d && c != key) {
      best_d = d;
      best = std::string(c);
    }
  }
  return best;
}

}  // namespace dmq::config
