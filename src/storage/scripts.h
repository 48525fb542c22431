// scripts: the Lua scripts of dmq (src/storage/scripts/*.lua, compiled into the binary),
// loaded into Redis on every (re)connect and called with EVALSHA (EVAL if Redis lost them).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "redis/reply.h"

namespace dmq::storage {

struct script_source {
  const char* name;  // file name without .lua: "save-1"
  const char* text;
};

// embedded_scripts returns every script compiled in (generated at build time).
const std::vector<script_source>& embedded_scripts();

// script: one Lua script and its SHA1 as Redis reported it.
struct script {
  std::string name;
  std::string text;
  std::string sha;  // empty until loaded

  // call appends EVALSHA (or EVAL while the sha is unknown) with numkeys and args.
  void call(redis::command& cmd, std::size_t numkeys, const std::vector<std::string>& args) const;
  // call_eval appends EVAL of the script's text, for retrying after NOSCRIPT.
  void call_eval(redis::command& cmd, std::size_t numkeys,
                 const std::vector<std::string>& args) const;
};

// script_set: the scripts by name.
class script_set {
 public:
  // sharded_publish: the scripts' wake-ups (publish_call) use SPUBLISH (cluster mode).
  explicit script_set(bool sharded_publish = false);
  static constexpr std::string_view publish_call = "redis.call('PUBLISH'";
  // get returns the script named name ("save-1"); it must exist.
  const script& get(std::string_view name) const;
  script& get(std::string_view name);
  std::vector<script>& all() { return scripts_; }

 private:
  std::vector<script> scripts_;
};

// is_noscript says whether a reply is Redis's NOSCRIPT error.
bool is_noscript(const redis::reply& r);

}  // namespace dmq::storage
