// fd_limit: a process serving many connections needs more descriptors than the usual soft
// limit (1024): every API connection, every keep-alive connection to a consumer.
#pragma once

#include <string>

namespace dmq::util {

// raise_fd_limit raises RLIMIT_NOFILE's soft limit to its hard limit (at most 1<<20);
// returns what it did, for the log ("" if nothing changed).
std::string raise_fd_limit();

}  // namespace dmq::util
