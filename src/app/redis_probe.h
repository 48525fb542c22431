// redis_probe: how a configuration's Redis is reached (the connection options every role
// uses), and `dmq check --redis`, which reaches it once and reports its settings.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <ostream>
#include <string>

#include "config/config.h"
#include "redis/cluster.h"
#include "redis/connection.h"
#include "storage/keys.h"

namespace dmq::app {

// redis_options returns the connection options for s; name is used in log lines.
redis::options redis_options(const config::redis_settings& s, std::string name);
// redis_client returns the client for s: a redis::cluster with redis.cluster set, else one
// redis::connection.
std::unique_ptr<redis::client> redis_client(boost::asio::any_io_executor ex,
                                            const config::redis_settings& s, std::string name);
// key_names returns the key names of cfg: its prefix, cluster mode and projects' shards.
storage::keys key_names(const config::settings& cfg);
// redis_where names s's Redis for messages: "host:port", or "cluster h1:p1,h2:p2".
std::string redis_where(const config::redis_settings& s);

// probe_redis connects to cfg's Redis, writes its settings and what dmq makes of them
// (storage/redis_check.h) to out, and returns `dmq check --redis`'s exit code: 0, 1 when
// Redis cannot be reached, 2 when dmq would refuse to start on it. An embedded Redis is
// checked only while a dmq runs it (nobody else starts it; dmq starts it with safe
// settings).
int probe_redis(const config::settings& cfg, std::ostream& out);

}  // namespace dmq::app
