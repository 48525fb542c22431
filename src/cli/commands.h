// commands: the `dmq` subcommands that call a running dmq over HTTP (send, status, detail,
// attempts, find, pending, scheduled, failed, retry, solved, cancel, reschedule, pause,
// resume, replay, solve, jobs, stats, tail). main.cc adds them to its CLI11 app beside
// run/client/server/check, parses, then asks run() for the selected one's exit code.
#pragma once

#include <memory>
#include <optional>

namespace CLI {
class App;
}

namespace dmq::cli {

struct registry;

class commands {
 public:
  explicit commands(CLI::App& app);
  ~commands();
  commands(const commands&) = delete;
  commands& operator=(const commands&) = delete;

  // run runs the API subcommand the parsed command line selected and returns its exit code
  // (session.h); nullopt when the command line selected none of them.
  std::optional<int> run();

 private:
  std::unique_ptr<registry> reg_;
};

}  // namespace dmq::cli
