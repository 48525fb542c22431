// run: a dmq process: Redis (embedded or not), the ingest API and, from the dispatcher
// issue on, the dispatcher; until SIGTERM or SIGINT, then a graceful stop.
#pragma once

#include <functional>

#include "config/config.h"

namespace dmq::app {

enum class role { client, server, all };

// run serves cfg in role until a signal; returns the process exit code. served, if set, is
// called once the process serves: its port listens, its dispatcher runs (app/supervisor.h).
int run(const config::settings& cfg, role r, std::function<void()> served = {});

}  // namespace dmq::app
