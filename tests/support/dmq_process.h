// dmq_process: the built dmq binary, started on a config dir written for the test, with
// its stderr kept in a file; and make_config_dir, which writes such a config.
#pragma once

#include <sys/types.h>

#include <string>

namespace dmq::test {

// make_config_dir writes a config dir (the seed's two projects and commands, on loopback)
// pointing at redis_port and serving on http_port; extra is appended to config.yaml.
// Returns its path; it is removed by remove_config_dir.
std::string make_config_dir(int redis_port, int http_port, const std::string& extra = "");
void remove_config_dir(const std::string& dir);

class dmq_process {
 public:
  // dmq_process starts `dmq <subcommand> <config_dir>`; with wait_healthy, waits until
  // GET /healthz on http_port answers 200 (throws after 10 s).
  dmq_process(std::string config_dir, int http_port, std::string subcommand = "client",
              bool wait_healthy = true);
  ~dmq_process();
  dmq_process(const dmq_process&) = delete;
  dmq_process& operator=(const dmq_process&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // signal sends sig; wait_exit waits (bounded) and returns the exit code, -1 if still running,
  // 128+N if killed by signal N.
  void signal(int sig);
  int wait_exit(int bound_ms = 10000);
  // stop sends SIGTERM and returns the exit code.
  int stop() {
    signal(15);
    return wait_exit();
  }
  bool running();
  // log returns what the process wrote to stderr so far.
  std::string log() const;

 private:
  std::string dir_;
  int port_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::string log_path_;
};

}  // namespace dmq::test
