// run: a dmq process: Redis (embedded or not), the ingest API and, from the dispatcher
// issue on, the dispatcher; until SIGTERM or SIGINT, then a graceful stop.
#pragma once

#include "config/config.h"

namespace dmq::app {

enum class role { client, server, all };

// run serves cfg in role until a signal; returns the process exit code.
int run(const config::settings& cfg, role r);

}  // namespace dmq::app
