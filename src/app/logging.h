// logging: spdlog set up from the log: section. With log.dir set, each role logs to its own
// file under a stable name (dmq-client.log, dmq-server.log, dmq-run.log) that rotates by
// itself (hourly by default, as the seed split its logs, and whenever it reaches
// log.max_size_mb), keeping log.max_files rotated copies beside it; warnings also go to
// stderr. Warnings and errors of one kind (equal but for their numbers) are limited to 10
// a minute (app/log_sinks.h).
#pragma once

#include <string_view>

#include "config/config.h"

namespace dmq::app {

// setup_logging installs the default logger for role; returns an error text or "".
std::string setup_logging(const config::log_settings& s, std::string_view role);

}  // namespace dmq::app
