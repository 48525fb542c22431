// id_generator: message ids that are decimal integers below 2^53 (safe in JavaScript),
// unique across every dmq process sharing one Redis, and increasing with creation time.
//
// Layout (53 bits): milliseconds since 2024-01-01 UTC (41 bits, until 2093) | node (5 bits)
// | sequence (7 bits). The node number is leased from Redis (storage/id_source.h), so two
// live processes never share one; 128 ids per millisecond per process, and a process that
// needs more borrows the next millisecond (ids stay unique and increasing, slightly ahead).
#pragma once

#include <cstdint>
#include <optional>

namespace dmq::model {

class id_generator {
 public:
  static constexpr int node_bits = 5;
  static constexpr int seq_bits = 7;
  static constexpr int nodes = 1 << node_bits;
  static constexpr std::int64_t epoch_ms = 1704067200000;  // 2024-01-01T00:00:00Z
  static constexpr std::uint64_t max_id = (std::uint64_t{1} << 53) - 1;
  static constexpr int time_bits = 53 - node_bits - seq_bits;  // 41
  // the last millisecond of the range, kept free for a borrowed millisecond or so
  static constexpr std::int64_t last_ms = epoch_ms + (std::int64_t{1} << time_bits) - 1000;

  // set_node starts issuing ids as node n, never for a time before min_ms.
  void set_node(int n, std::int64_t min_ms);
  // clear_node stops issuing ids (the node's lease was lost).
  void clear_node() { node_ = -1; }
  int node() const { return node_; }

  // next returns a new id for wall-clock time now_ms; nullopt without a node, or when
  // now_ms is outside the ids' time range (a clock before 2024, or after 2093): an id is
  // never zero, and never repeats.
  std::optional<std::uint64_t> next(std::int64_t now_ms);
  // in_range says whether ids can be made at wall-clock time now_ms.
  static bool in_range(std::int64_t now_ms);

  // time_of returns the creation time (ms since the Unix epoch) encoded in id.
  static std::int64_t time_of(std::uint64_t id);
  // node_of returns the node encoded in id.
  static int node_of(std::uint64_t id);

 private:
  int node_ = -1;
  std::int64_t last_ms_ = 0;
  int seq_ = 0;
};

}  // namespace dmq::model
