// dmq: a delayed message queue on Redis. Subcommands:
//   dmq client CONFIG_DIR   the producers' HTTP API (the seed's "client")
//   dmq server CONFIG_DIR   the dispatcher (the seed's "server")
//   dmq run CONFIG_DIR      both in one process
//       (client, server, run: --workers N runs N such processes on one port under a parent
//       that restarts a dead one, app/supervisor.h)
//   dmq check CONFIG_DIR    validate a configuration and exit (--redis: and its Redis)
//   dmq config-reference    print every configuration key with its default
//   dmq token               print a new random token and the sha256: line that names it
//   dmq send|status|detail|attempts|find|pending|scheduled|failed|retry|solved|cancel|
//       reschedule|pause|resume|replay|solve|jobs|stats|tail
//                           call a running dmq's HTTP API (src/cli/, docs/operations.md)
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "app/demo_consumer.h"
#include "app/logging.h"
#include "app/redis_probe.h"
#include "app/run.h"
#include "app/supervisor.h"
#include "cli/commands.h"
#include "config/config.h"
#include "http/tls_context.h"
#include "ingest/access.h"
#include "util/crypto.h"

namespace {

// load_or_report loads CONFIG_DIR, printing every problem; nullopt if there were any.
std::optional<dmq::config::settings> load_or_report(const std::string& dir) {
  auto r = dmq::config::load(dir);
  if (!r.problems.empty()) {
    std::cerr << "dmq: configuration " << dir << " has " << r.problems.size() << " problem(s):\n";
    for (const auto& p : r.problems) std::cerr << "  " << p.to_string() << "\n";
    return std::nullopt;
  }
  for (const auto& n : r.notes) spdlog::info("config: {}", n);
  return std::move(r.cfg);
}

// process_flags: how `dmq client|server|run` was asked to run: --workers N (0: as the
// configuration says), and, in a child of the supervisor, --worker K and --ready-fd FD.
struct process_flags {
  int workers = 0;
  int worker = 0;
  int ready_fd = -1;
};

int serve(const std::string& dir, dmq::app::role role, const std::string& name,
          const process_flags& f) {
  auto cfg = load_or_report(dir);
  if (!cfg) return 2;
  if (f.workers > 0) cfg->workers = f.workers;
  std::string log_name = name;
  if (f.worker > 0) {  // one of the supervisor's children: a whole process on a shared port
    ::prctl(PR_SET_NAME, "dmq");  // exec'd as /proc/self/exe: ps and top would say "exe"
    cfg->workers = 1;
    cfg->http.reuse_port = true;
    log_name += "-" + std::to_string(f.worker);
  }
  if (cfg->workers > 1) cfg->http.reuse_port = true;
  if (auto err = dmq::app::setup_logging(cfg->log, log_name); !err.empty()) {
    std::cerr << "dmq: " << err << "\n";
    return 2;
  }
  if (cfg->workers > 1) return dmq::app::supervise(*cfg, name);
  std::function<void()> served;
  // The readiness pipe is for this process alone: not for a redis-server it may start.
  if (f.ready_fd >= 0 && ::fcntl(f.ready_fd, F_SETFD, FD_CLOEXEC) == 0)
    served = [fd = f.ready_fd] {
      char byte = 1;
      if (::write(fd, &byte, 1) != 1) spdlog::warn("workers: cannot tell the supervisor");
      ::close(fd);
    };
  return dmq::app::run(*cfg, role, served);
}

// add_process_flags adds --workers (and the supervisor's hidden flags) to sub.
void add_process_flags(CLI::App* sub, process_flags& f) {
  sub->add_option("--workers", f.workers,
                  "Run N processes on one port under a parent that restarts a dead one "
                  "(overrides the workers key; docs/scaling.md)")
      ->check(CLI::Range(1, 32));
  sub->add_option("--worker", f.worker)->group("")->check(CLI::Range(1, 32));
  sub->add_option("--ready-fd", f.ready_fd)->group("")->check(CLI::Range(0, 1 << 20));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dmq: a delayed message queue on Redis, compatible with the seed dmq's API"};
  app.require_subcommand(0, 1);
  app.set_version_flag("--version", std::string("dmq ") + DMQ_VERSION);
  std::string dir;

  process_flags flags;
  auto* client = app.add_subcommand(
      "client", "Serve the producers' HTTP API (single, batch, status, detail, pending, solved)");
  client->add_option("CONFIG_DIR", dir, "Directory holding config.yaml")->required();
  add_process_flags(client, flags);

  auto* server = app.add_subcommand(
      "server", "Deliver due messages to their consumers, with retries (the dispatcher)");
  server->add_option("CONFIG_DIR", dir, "Directory holding config.yaml")->required();
  add_process_flags(server, flags);

  auto* run = app.add_subcommand("run", "Run the API and the dispatcher in one process");
  run->add_option("CONFIG_DIR", dir, "Directory holding config.yaml")->required();
  add_process_flags(run, flags);

  auto* check = app.add_subcommand("check", "Validate a configuration, list every problem, exit");
  check->add_option("CONFIG_DIR", dir, "Directory holding config.yaml")->required();
  bool check_redis = false;
  check->add_flag("--redis", check_redis,
                  "Also connect to the configured Redis and check its settings "
                  "(maxmemory-policy, version, appendonly); exit 2 if dmq would refuse it");

  auto* reference =
      app.add_subcommand("config-reference", "Print every configuration key with its default");

  dmq::app::add_demo_consumer(app);  // `dmq demo-consumer`: runs and exits when parsed

  auto* token = app.add_subcommand(
      "token", "Print a new random bearer token and the sha256: line for the configuration");
  bool webhook = false;
  token->add_flag("--webhook", webhook,
                  "Print a Standard Webhooks signing secret (whsec_...) for signing_secrets");

  dmq::cli::commands api_commands(app);

  // Usage errors exit 2 (CLI11's own codes start at 100, where dmq's API codes live);
  // --help and --version exit 0.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (app.get_subcommands().empty()) {  // `dmq` alone: what it can do, as a usage error
    std::cerr << app.help();
    return 2;
  }

  if (auto rc = api_commands.run()) return *rc;

  if (*token) {
    if (webhook) {
      std::cout << "whsec_" << dmq::util::base64(dmq::util::random_bytes(32)) << "\n";
      return 0;
    }
    auto t = "dmq_" + dmq::util::to_hex(dmq::util::random_bytes(24));
    std::cout << "token:  " << t << "\n"
              << "config: sha256:" << dmq::util::to_hex(dmq::util::as_view(dmq::util::sha256(t)))
              << "\n";
    return 0;
  }

  if (*reference) {
    std::cout << dmq::config::reference();
    return 0;
  }
  if (*check) {
    auto r = dmq::config::load(dir);
    for (const auto& n : r.notes) std::cout << "note: " << n << "\n";
    if (!r.problems.empty()) {
      for (const auto& p : r.problems) std::cerr << "problem: " << p.to_string() << "\n";
      std::cerr << r.problems.size() << " problem(s) in " << dir << "\n";
      return 2;
    }
    if (const auto& t = r.cfg->http.tls; t.enabled()) {
      auto err = dmq::http::check_tls_files({t.cert_file, t.key_file, t.client_ca_file});
      if (!err.empty()) {
        std::cerr << "problem: config.yaml: http.tls: " << err << "\n1 problem(s) in " << dir
                  << "\n";
        return 2;
      }
    }
    std::cout << dir << ": configuration OK (" << r.cfg->producers.size() << " producers, "
              << r.cfg->commands.size() << " commands)\n";
    for (const auto& w : dmq::ingest::exposure_warnings(*r.cfg))
      std::cout << "warning: security: " << w << "\n";
    if (check_redis) {
      spdlog::set_level(spdlog::level::warn);  // the connection's own info lines are noise here
      return dmq::app::probe_redis(*r.cfg, std::cout);
    }
    return 0;
  }
  if (*server) return serve(dir, dmq::app::role::server, "server", flags);
  if (*client) return serve(dir, dmq::app::role::client, "client", flags);
  return serve(dir, dmq::app::role::all, "run", flags);
}
