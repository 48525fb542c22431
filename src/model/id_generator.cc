#include "model/id_generator.h"

#include <algorithm>

namespace dmq::model {

void id_generator::set_node(int n, std::int64_t min_ms) {
  if (n != node_) seq_ = (1 << seq_bits);  // force a fresh millisecond for the new node
  node_ = n;
  last_ms_ = std::max(last_ms_, min_ms);
}

bool id_generator::in_range(std::int64_t now_ms) {
  return now_ms > epoch_ms && now_ms < last_ms;
}

std::optional<std::uint64_t> id_generator::next(std::int64_t now_ms) {
  // Outside the range the time field would be clamped or wrap: ids would repeat.
  if (node_ < 0 || !in_range(now_ms) || last_ms_ >= last_ms) return std::nullopt;
  if (now_ms > last_ms_) {
    last_ms_ = now_ms;
    seq_ = 0;
  } else if (++seq_ >= (1 << seq_bits)) {
    ++last_ms_;  // borrow the next millisecond rather than repeat an id
    seq_ = 0;
  }
  auto t = static_cast<std::uint64_t>(last_ms_ - epoch_ms);
  return (t << (node_bits + seq_bits)) | (static_cast<std::uint64_t>(node_) << seq_bits) |
         static_cast<std::uint64_t>(seq_);
}

std::int64_t id_generator::time_of(std::uint64_t id) {
  return static_cast<std::int64_t>(id >> (node_bits + seq_bits)) + epoch_ms;
}

int id_generator::node_of(std::uint64_t id) {
  return static_cast<int>((id >> seq_bits) & (nodes - 1));
}

}  // namespace dmq::model
