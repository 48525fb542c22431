#include "support/ports.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <utility>

namespace dmq::test {

namespace {

// bind_loopback binds a TCP socket to 127.0.0.1:port (0: any) and returns the port it got,
// or 0 if it could not; the socket is closed again.
int bind_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  socklen_t len = sizeof a;
  int got = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    got = ntohs(a.sin_port);
  ::close(fd);
  return got;
}

// ephemeral_range reads the ports the kernel picks from for outgoing connections.
std::pair<int, int> ephemeral_range() {
  int lo = 32768, hi = 60999;
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int a = 0, b = 0;
  if (in >> a >> b && a > 0 && b >= a) lo = a, hi = b;
  return {lo, hi};
}

}  // namespace

// free_port picks the port at random outside the ephemeral range: there no outgoing
// connection (dmq's to Redis, a test's to dmq) can take it before the server meant for it
// binds, and a client reconnecting to a stopped server's port can never connect to itself
// (source port == destination port), which would keep the server from starting again. A
// random pick (rather than the kernel's) also keeps test processes running side by side
// from being handed the same port.
int free_port() {
  static std::mutex mu;
  static std::mt19937 rng(std::random_device{}());
  auto [lo, hi] = ephemeral_range();
  std::uniform_int_distribution<int> pick(10000, 65535);
  for (int tries = 0; tries < 1000; ++tries) {
    int p;
    {
      std::lock_guard lock(mu);
      p = pick(rng);
    }
    if (p >= lo && p <= hi) continue;
    if (bind_loopback(p) == p) return p;
  }
  int p = bind_loopback(0);  // no room outside the ephemeral range: let the kernel choose
  if (p == 0) throw std::runtime_error("free_port: cannot bind");
  return p;
}

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds bound) {
  auto until = std::chrono::steady_clock::now() + bound;
  for (;;) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace dmq::test
