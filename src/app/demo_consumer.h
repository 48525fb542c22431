// demo_consumer: `dmq demo-consumer`, a consumer to try dmq with. It answers every POST
// with 200 and a small JSON, and logs one line per delivery (path, X-Dmq-* headers, the
// body's first bytes, the answer), so that the example configuration's deliveries
// (config/commands: 127.0.0.1:8959) reach `done` on a fresh machine. --fail-first N and
// --fail-rate R answer 503 instead, to watch retries and the failed list. Not for
// production: it keeps nothing and checks no signature.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace dmq::app {

struct demo_options {
  std::string listen = "127.0.0.1:8959";  // HOST:PORT, [V6]:PORT or PORT
  int fail_first = 0;                     // answer 503 to attempts 1..N of each message
  double fail_rate = 0;                   // and to this share of the other deliveries
};

// run_demo_consumer serves until SIGINT or SIGTERM; returns the process's exit code
// (0, 1 when it cannot listen, 2 for a bad --listen).
int run_demo_consumer(const demo_options& o);

// add_demo_consumer registers the subcommand on app; parsing it runs the consumer and
// exits the process with its exit code (main.cc needs one line for it).
void add_demo_consumer(CLI::App& app);

}  // namespace dmq::app
