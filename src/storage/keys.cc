#include "storage/keys.h"

namespace dmq::storage {

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

std::string keys::wake_channel(std::string_view project) const {
  return base(project).append("wake");
}

std::string keys::node(int n) const {
  return prefix_ + ":node:" + std::to_string(n);
}
std::string keys::node_clock(int n) const {
  return node(n) + ":clock";
}

}  // namespace dmq::storage
