// supervisor: `workers: N` (or `--workers N`): one parent process runs N dmq processes of
// one role (client, server or run) on one port, so dmq uses every core (docs/scaling.md).
//
// Each child is the same binary (/proc/self/exe, so a restart runs the same version even
// when the file was replaced) run as `dmq ROLE CONFIG_DIR --worker K --ready-fd 3`: a whole
// dmq process as with workers: 1, with http.reuse_port forced on so that every child listens
// on http_port (and dispatch.http_port) and the kernel spreads connections over them. It
// logs to dmq-ROLE-K.log, writes a byte on fd 3 once it serves, and gets SIGTERM if the
// parent dies (PR_SET_PDEATHSIG); it runs in its own process group, so a Ctrl-C reaches
// the parent alone, which passes it on.
//
// The parent:
// - starts the embedded Redis (redis.embedded) before any child, and keeps it running; the
//   children share it (app/embedded_redis.h: the parent holds the lock), so a child that
//   dies never takes the server down with it, and it is stopped last;
// - passes SIGTERM, SIGINT and SIGHUP on to every child; SIGHUP reloads http.tls in each
//   (without TLS it stops dmq, as it stops one process);
// - restarts a child that exits while dmq is not stopping, after restart_delay (counted
//   and logged); a child whose first start fails before any child ever served (Redis
//   unreachable or refused, port taken) stops the whole group with that child's exit code,
//   as one process would have exited;
// - on a stop, waits for the children to stop in order (http.shutdown_timeout_ms +
//   dispatch.shutdown_timeout_ms + 5 s at most, then SIGKILL) and exits: 0 when every child
//   stopped with 0, else the first other exit code (1 if one had to be killed).
#pragma once

#include <chrono>
#include <string>

#include "config/config.h"

namespace dmq::app {

// restart_delay: the wait before a dead child's restart number n (1 for the first since it
// last served): 100 ms, doubling, at most 10 s.
std::chrono::milliseconds restart_delay(int n);

// supervise runs cfg.workers children `dmq NAME` (NAME: client, server or run) until a
// signal stops them; returns the process exit code.
int supervise(const config::settings& cfg, const std::string& name);

}  // namespace dmq::app
