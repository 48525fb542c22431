// redis_target: what an end-to-end test body needs from "the Redis" dmq runs on, whether a
// single redis-server (redis_server) or a Redis Cluster (redis_cluster), so that one test
// body runs against both.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "redis/reply.h"

namespace dmq::test {

class redis_target {
 public:
  virtual ~redis_target() = default;

  // cmd runs one command and returns its reply; on a cluster, on the node that serves the
  // command's first key (keyless commands: any master), MOVED and ASK followed.
  virtual redis::reply cmd(const std::vector<std::string>& args) const = 0;
  // config_yaml: the lines under `redis:` in dmq's config.yaml that point dmq at it, each
  // indented by two spaces and ending in a newline: "  host: 127.0.0.1\n  port: N\n" or
  // "  cluster: [127.0.0.1:p1, 127.0.0.1:p2, ...]\n".
  virtual std::string config_yaml() const = 0;
  virtual bool is_cluster() const = 0;
  // scan_keys lists the keys matching pattern (SCAN MATCH) on every master.
  virtual std::set<std::string> scan_keys(const std::string& pattern = "*") const = 0;

 protected:
  redis_target() = default;
  redis_target(const redis_target&) = default;
  redis_target& operator=(const redis_target&) = default;
};

}  // namespace dmq::test
