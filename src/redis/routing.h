// routing: how a Redis Cluster client splits a pipeline (command.h's RESP bytes) into
// units routed by slot. A unit is one command, or a whole MULTI ... EXEC block; its slot
// is that of its first key (-1: it has none). Pure functions, no I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dmq::redis {

// parsed_command: one command of a pipeline, viewing the pipeline's bytes.
struct parsed_command {
  std::string_view bytes;  // its RESP encoding
  std::vector<std::string_view> args;
};

// parse_pipeline splits RESP-encoded commands (arrays of bulk strings, as command.h
// writes them); nullopt if bytes are not that.
std::optional<std::vector<parsed_command>> parse_pipeline(std::string_view bytes);

// first_key returns the key that routes cmd (EVAL/EVALSHA: the first of numkeys; SPUBLISH
// and SSUBSCRIBE: the channel), nullopt for a command without one (PING, TIME, INFO,
// WAIT, SCRIPT, PUBLISH, ...).
std::optional<std::string_view> first_key(const parsed_command& cmd);

// unit: commands [first, last] of a pipeline sent together to one node.
struct unit {
  std::size_t first = 0, last = 0;
  int slot = -1;  // -1: no key: it follows the unit before it
  bool transaction = false;
};

// units_of groups cmds into units: MULTI ... EXEC is one unit, any other command its own.
std::vector<unit> units_of(const std::vector<parsed_command>& cmds);

// split_address splits "host:port" (port 0 if there is none, or it is not a number).
std::pair<std::string, int> split_address(std::string_view addr);

// redirect: a MOVED or ASK error reply ("MOVED 3999 127.0.0.1:6381").
struct redirect {
  bool ask = false;
  int slot = 0;
  std::string_view host;
  int port = 0;
};
std::optional<redirect> parse_redirect(std::string_view error);

// retryable says whether error is one a cluster answers while it changes (TRYAGAIN,
// CLUSTERDOWN): the command is sent again after a pause.
bool retryable(std::string_view error);

}  // namespace dmq::redis
