// reverse_proxy: a real nginx or HAProxy (Debian's binaries) in front of a server on a
// loopback port, for the tests of callers behind a proxy (docs/security.md). It runs in the
// foreground as a child of the test, with its configuration, pid file and temporary paths
// in a directory of its own, listens on a free 127.0.0.1 port and connects to the server
// from 127.0.0.1; it is killed and its directory removed at the end.
#pragma once

#include <sys/types.h>

#include <string>

namespace dmq::test {

class reverse_proxy {
 public:
  enum class kind { nginx, haproxy };

  // available says whether the binary of k is installed (scripts/setup.sh installs both).
  static bool available(kind k);
  static std::string binary(kind k);

  // reverse_proxy starts k in front of 127.0.0.1:upstream_port and waits (bounded) until
  // it accepts connections; throws with its output if it does not. The configurations are
  // the ones docs/security.md shows:
  //   nginx:   proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
  //   haproxy: option forwardfor
  reverse_proxy(kind k, int upstream_port);
  ~reverse_proxy();
  reverse_proxy(const reverse_proxy&) = delete;
  reverse_proxy& operator=(const reverse_proxy&) = delete;

  int port() const { return port_; }
  bool running();
  // log returns what the proxy wrote to stdout and stderr so far.
  std::string log() const;
  // config returns the configuration it runs with.
  const std::string& config() const { return config_; }

 private:
  void stop();  // kills the proxy (SIGTERM, then SIGKILL after 5 s) and removes its directory

  int port_;
  std::string dir_;
  std::string config_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

}  // namespace dmq::test
