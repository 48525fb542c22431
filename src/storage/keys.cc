#include "storage/keys.h"

#include "redis/slot.h"

namespace dmq::storage {

void keys::place(const std::string& project, int k) {
  if (k <= 1) return;
  // The slot space in k windows; shard 0 ({project}) is in its own, the others take the rest
  // in order, each the first of "<project>~<s>", "<project>~<s>.1", ... whose slot lies in
  // the middle half of its window (away from the edges, where masters' ranges meet).
  const auto window = [k](int slot) { return slot * k / redis::slot_count; };
  const int home = window(redis::slot_of("{" + project + "}"));
  std::vector<std::string> tags{project};
  int w = 0;
  for (int s = 1; s < k; ++s, ++w) {
    if (w == home) ++w;
    const int lo = w * redis::slot_count / k, hi = (w + 1) * redis::slot_count / k;
    const int quarter = (hi - lo) / 4;
    std::string base = project + "~" + std::to_string(s), t = base;
    for (int n = 1; n < 1000000; ++n) {  // ~2k tries on average
      int slot = redis::slot_of("{" + t + "}");
      if (slot >= lo + quarter && slot < hi - quarter) break;
      t = base + "." + std::to_string(n);
    }
    owners_.emplace(t, project);
    tags.push_back(std::move(t));
  }
  tags_.emplace(project, std::move(tags));
}

int keys::shards(std::string_view project) const {
  auto it = tags_.find(project);
  return it == tags_.end() ? 1 : static_cast<int>(it->second.size());
}

std::string keys::tag(std::string_view project, int s) const {
  auto it = tags_.find(project);
  if (it == tags_.end() || s <= 0 || s >= static_cast<int>(it->second.size()))
    return std::string(project);
  return it->second[static_cast<std::size_t>(s)];
}

std::vector<std::string> keys::tags(std::string_view project) const {
  auto it = tags_.find(project);
  if (it == tags_.end()) return {std::string(project)};
  return it->second;
}

int keys::shard_of(std::string_view project, std::uint64_t id, std::string_view bucket,
                   std::string_view key) const {
  const int k = shards(project);
  if (k <= 1) return 0;
  // CRC16 (Redis Cluster's own): stable across versions and processes, as placement must be.
  if (!bucket.empty()) return redis::crc16(bucket) % k;
  if (!key.empty()) return redis::crc16(key) % k;
  return static_cast<int>(id % static_cast<std::uint64_t>(k));
}

std::string_view keys::project_of(std::string_view t) const {
  auto it = owners_.find(t);
  return it == owners_.end() ? t : std::string_view(it->second);
}

std::string keys::base(std::string_view project) const {
  std::string k;
  k.reserve(prefix_.size() + project.size() + 4);
  k.append(prefix_).append(":{").append(project).append("}:");
  return k;
}

std::string keys::message(std::string_view project, std::uint64_t id) const {
  return base(project).append(message_suffix).append(std::to_string(id));
}

std::string keys::queue(std::string_view project, std::string_view consumer) const {
  return base(project).append("q:").append(consumer);
}

std::string keys::heads(std::string_view project, std::string_view consumer) const {
  return base(project).append("h:").append(consumer);
}

std::string keys::idempotency(std::string_view project, std::string_view key) const {
  return base(project).append("i:").append(key);
}

std::string keys::pending(std::string_view project, std::string_view consumer) const {
  return base(project).append("pending:").append(consumer);
}

std::string keys::bucket(std::string_view project, std::string_view consumer,
                         std::string_view bucket) const {
  return base(project)
      .append("b:")
      .append(std::to_string(consumer.size()))
      .append(":")
      .append(consumer)
      .append(":")
      .append(bucket);
}

std::string keys::attempts(std::string_view project, std::uint64_t id) const {
  return base(project).append("a:").append(std::to_string(id));
}

std::string keys::rate(std::string_view project, std::string_view consumer) const {
  return base(project).append("r:").append(consumer);
}

std::string keys::paused(std::string_view project) const {
  return base(project).append("paused");
}

std::string keys::find_index(std::string_view project, std::string_view rid) const {
  return base(project).append("f:").append(rid);
}

std::string keys::wake_channel(std::string_view project) const {
  return base(project).append("wake");
}

namespace {

// glob_escape escapes the characters SCAN's MATCH treats as patterns (*, ?, [, ], \).
std::string glob_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// split_project returns (project, the rest after "}:<kind>:") of "<prefix>:{<project>}:<kind>:...".
std::optional<std::pair<std::string_view, std::string_view>> split_project(std::string_view key,
                                                                           std::string_view prefix,
                                                                           std::string_view kind) {
  if (!key.starts_with(prefix) || key.substr(prefix.size()).substr(0, 2) != ":{") return {};
  key.remove_prefix(prefix.size() + 2);
  auto tag_end = key.find('}');  // the hash tag ends at its first '}', as Redis reads it
  if (tag_end == std::string_view::npos) return {};
  auto rest = key.substr(tag_end + 1);
  std::string head = ":" + std::string(kind) + ":";
  if (!rest.starts_with(head)) return {};
  return std::pair{key.substr(0, tag_end), rest.substr(head.size())};
}

}  // namespace

std::string keys::queues_pattern() const {
  return glob_escape(prefix_) + ":{*}:q:*";
}

std::string keys::buckets_pattern() const {
  return glob_escape(prefix_) + ":{*}:b:*";
}

std::optional<std::pair<std::string, std::string>> keys::parse_queue(std::string_view key) const {
  auto p = split_project(key, prefix_, "q");
  if (!p || p->second.empty()) return {};
  return std::pair{std::string(p->first), std::string(p->second)};
}

std::optional<std::pair<std::string, std::string>> keys::parse_bucket(std::string_view key) const {
  auto p = split_project(key, prefix_, "b");  // then <len(consumer)>:<consumer>:<bucket>
  if (!p) return {};
  auto rest = p->second;
  auto colon = rest.find(':');
  if (colon == std::string_view::npos || colon == 0) return {};
  std::size_t len = 0;
  for (char c : rest.substr(0, colon)) {
    if (c < '0' || c > '9') return {};
    len = len * 10 + static_cast<std::size_t>(c - '0');
  }
  rest.remove_prefix(colon + 1);
  if (rest.size() < len + 1 || rest[len] != ':') return {};
  return std::pair{std::string(p->first), std::string(rest.substr(0, len))};
}

std::string keys::node(int n) const {
  return global_ + ":node:" + std::to_string(n);
}
std::string keys::node_clock(int n) const {
  return node(n) + ":clock";
}

std::string keys::dispatchers() const {
  return global_ + ":dispatchers";
}
std::string keys::dispatcher(std::string_view id) const {
  return global_ + ":dispatcher:" + std::string(id);
}
std::string keys::events() const {
  return global_ + ":events";
}
std::string keys::tail() const {
  return global_ + ":tail";
}
std::string keys::job(std::string_view id) const {
  return global_ + ":job:" + std::string(id);
}
std::string keys::queue_registry() const {
  return global_ + ":queues";
}
std::string keys::ordered_registry() const {
  return global_ + ":ordered";
}
std::string keys::registry_complete() const {
  return global_ + ":queues:complete";
}
std::string keys::jobs() const {
  return global_ + ":jobs";
}

}  // namespace dmq::storage
