// fault_proxy: a TCP proxy on a free loopback port in front of another loopback port, for
// fault tests: it forwards bytes both ways until told to blackhole the connections it has
// (they stay open and silent, as behind a dead NAT or a pulled cable: no FIN, no RST) or to
// reset them. New connections are forwarded as usual. Threads, blocking sockets and poll:
// test code, bounded by the test's life.
#pragma once

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace dmq::test {

class fault_proxy {
 public:
  explicit fault_proxy(int target_port);
  ~fault_proxy();
  fault_proxy(const fault_proxy&) = delete;
  fault_proxy& operator=(const fault_proxy&) = delete;

  int port() const { return port_; }
  // blackhole makes every connection open now drop what it receives, both ways, silently.
  void blackhole();
  // reset closes every connection open now with an RST.
  void reset();
  // hold stops accepting new connections (they wait in the listen backlog) until release.
  void hold() { holding_ = true; }
  void release() { holding_ = false; }
  // connections returns how many connections were accepted so far.
  int connections() const { return accepted_; }

 private:
  struct link {
    int client, server;
    std::atomic<bool> dead{false};   // blackholed
    std::atomic<bool> reset{false};  // to be reset
  };
  void accept_loop();
  void pump(link* l);

  int target_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> holding_{false};
  std::atomic<int> accepted_{0};
  std::mutex mu_;
  std::vector<std::unique_ptr<link>> links_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace dmq::test
