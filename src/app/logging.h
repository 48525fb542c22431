// logging: spdlog set up from the log: section. With log.dir set, each role logs to its own
// file (dmq-client.log, dmq-server.log, dmq-run.log) that rotates by itself (hourly by
// default, as the seed split its logs), and warnings also go to stderr.
#pragma once

#include <string_view>

#include "config/config.h"

namespace dmq::app {

// setup_logging installs the default logger for role; returns an error text or "".
std::string setup_logging(const config::log_settings& s, std::string_view role);

}  // namespace dmq::app
