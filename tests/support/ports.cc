#include "support/ports.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

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

// port_claims claims ports for this process among every test process on the machine (a
// file <tmp>/dmq-test-ports/<port>, made with O_EXCL): two test processes starting side by side
// could otherwise both find a port free and both start a server on it, one of which then
// answers the other's requests. A claim is dropped when its process exits, and one older
// than claim_life is stale (its server has bound the port long since, or never will).
class port_claims {
 public:
  static constexpr auto claim_life = std::chrono::minutes(2);

  bool reserve(int port) {
    std::lock_guard lock(mu_);
    if (dir_.empty()) return true;  // no claims dir: the bind check alone
    auto path = dir_ / std::to_string(port);
    for (int tries = 0; tries < 2; ++tries) {
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
      if (fd >= 0) {
        auto pid = std::to_string(::getpid());
        (void)!::write(fd, pid.data(), pid.size());
        ::close(fd);
        mine_.push_back(path);
        return true;
      }
      if (errno != EEXIST) return true;  // cannot claim: the bind check alone
      std::error_code ec;
      auto age = std::filesystem::file_time_type::clock::now() -
                 std::filesystem::last_write_time(path, ec);
      if (ec || age < claim_life) return false;  // claimed by a live test
      std::filesystem::remove(path, ec);         // stale: claim it anew
    }
    return false;
  }
  void release(int port) {
    std::lock_guard lock(mu_);
    auto path = dir_ / std::to_string(port);
    std::error_code ec;
    std::filesystem::remove(path, ec);
    std::erase(mine_, path);
  }
  static port_claims& get() {
    static port_claims* c = [] {
      auto* p = new port_claims;
      std::atexit([] { get().drop_all(); });
      return p;
    }();
    return *c;
  }

 private:
  port_claims() {
    std::error_code ec;
    auto d = std::filesystem::temp_directory_path(ec) / "dmq-test-ports";
    std::filesystem::create_directories(d, ec);
    std::filesystem::permissions(d, std::filesystem::perms::all, ec);
    if (std::filesystem::is_directory(d, ec)) dir_ = d;
  }
  void drop_all() {
    std::lock_guard lock(mu_);
    std::error_code ec;
    for (const auto& p : mine_) std::filesystem::remove(p, ec);
    mine_.clear();
  }

  std::mutex mu_;
  std::filesystem::path dir_;
  std::vector<std::filesystem::path> mine_;
};

}  // namespace

// free_port picks the port at random outside the ephemeral range: there no outgoing
// connection (dmq's to Redis, a test's to dmq) can take it before the server meant for it
// binds, and a client reconnecting to a stopped server's port can never connect to itself
// (source port == destination port), which would keep the server from starting again. The
// port is claimed for this process among all test processes (port_claims).
int free_port() {
  static std::mutex mu;
  static std::mt19937 rng(std::random_device{}());
  auto [lo, hi] = ephemeral_range();
  std::uniform_int_distribution<int> pick(10000, 65535);
  auto& claims = port_claims::get();
  for (int tries = 0; tries < 1000; ++tries) {
    int p;
    {
      std::lock_guard lock(mu);
      p = pick(rng);
    }
    if (p >= lo && p <= hi) continue;
    if (!claims.reserve(p)) continue;
    if (bind_loopback(p) == p) return p;
    claims.release(p);
  }
  int p = bind_loopback(0);  // no room outside the ephemeral range: let the kernel choose
  if (p == 0) throw std::runtime_error("free_port: cannot bind");
  return p;
}

bool listening_pid_has(int pid, int port) {
  // /proc/net/tcp: "sl local_address rem_address st ... inode", addresses in hex, LISTEN 0A.
  std::set<std::string> inodes;
  std::ifstream tcp("/proc/net/tcp");
  std::string line;
  std::getline(tcp, line);  // header
  char want_port[8];
  std::snprintf(want_port, sizeof want_port, "%04X", port);
  while (std::getline(tcp, line)) {
    std::istringstream in(line);
    std::string sl, local, remote, st, queues, timer, retr, uid, timeout, inode;
    if (!(in >> sl >> local >> remote >> st >> queues >> timer >> retr >> uid >> timeout >> inode))
      continue;
    auto colon = local.find(':');
    if (st != "0A" || colon == std::string::npos || local.substr(colon + 1) != want_port) continue;
    auto addr = local.substr(0, colon);
    if (addr == "0100007F" || addr == "00000000") inodes.insert("socket:[" + inode + "]");
  }
  if (inodes.empty()) return false;
  std::error_code ec;
  for (const auto& fd :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code lec;
    auto target = std::filesystem::read_symlink(fd.path(), lec);
    if (!lec && inodes.count(target.string())) return true;
  }
  return false;
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
