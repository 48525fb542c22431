#include "storage/scripts.h"

#include <stdexcept>

namespace dmq::storage {

namespace {
void append(redis::command& cmd, std::string_view op, std::string_view body, std::size_t numkeys,
            const std::vector<std::string>& args) {
  cmd.begin(3 + args.size());
  cmd.arg(op).arg(body).arg(static_cast<unsigned long long>(numkeys));
  for (const auto& a : args) cmd.arg(a);
}
}  // namespace

void script::call(redis::command& cmd, std::size_t numkeys,
                  const std::vector<std::string>& args) const {
  if (sha.empty()) return call_eval(cmd, numkeys, args);
  append(cmd, "EVALSHA", sha, numkeys, args);
}

void script::call_eval(redis::command& cmd, std::size_t numkeys,
                       const std::vector<std::string>& args) const {
  append(cmd, "EVAL", text, numkeys, args);
}

script_set::script_set(bool sharded_publish) {
  for (const auto& s : embedded_scripts()) {
    std::string text = s.text;
    // In a cluster a wake-up goes to the shard of its channel only (SPUBLISH): a plain
    // PUBLISH is copied to every node of the cluster.
    for (auto at = text.find(publish_call); sharded_publish && at != std::string::npos;
         at = text.find(publish_call, at + 1))
      text.replace(at, publish_call.size(), "redis.call('SPUBLISH'");
    scripts_.push_back({s.name, std::move(text), {}});
  }
}

const script& script_set::get(std::string_view name) const {
  for (const auto& s : scripts_)
    if (s.name == name) return s;
  throw std::logic_error("no such script: " + std::string(name));
}

script& script_set::get(std::string_view name) {
  return const_cast<script&>(static_cast<const script_set&>(*this).get(name));
}

bool is_noscript(const redis::reply& r) {
  return r.is_error() && r.str.starts_with("NOSCRIPT");
}

}  // namespace dmq::storage
