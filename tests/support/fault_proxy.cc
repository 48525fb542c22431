#include "support/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>

namespace dmq::test {

namespace {

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// rst closes fd with an RST instead of a FIN (SO_LINGER 0).
void rst(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

}  // namespace

fault_proxy::fault_proxy(int target_port) : target_(target_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 64) != 0)
    throw std::runtime_error("fault_proxy: cannot listen");
  socklen_t len = sizeof a;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

fault_proxy::~fault_proxy() {
  stop_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  acceptor_.join();
  for (auto& t : threads_) t.join();
  for (auto& l : links_) {
    ::close(l->client);
    ::close(l->server);
  }
}

void fault_proxy::blackhole() {
  std::lock_guard lock(mu_);
  for (auto& l : links_) l->dead = true;
}

void fault_proxy::reset() {
  std::lock_guard lock(mu_);
  for (auto& l : links_) l->reset = true;
}

void fault_proxy::accept_loop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0 || holding_) continue;
    int c = ::accept(listen_fd_, nullptr, nullptr);
    if (c < 0) continue;
    int s = connect_to(target_);
    if (s < 0) {
      ::close(c);
      continue;
    }
    ++accepted_;
    std::lock_guard lock(mu_);
    links_.push_back(std::make_unique<link>());
    auto* l = links_.back().get();
    l->client = c;
    l->server = s;
    threads_.emplace_back([this, l] { pump(l); });
  }
}

void fault_proxy::pump(link* l) {
  char buf[16384];
  bool open[2] = {true, true};  // whether each side may still be read
  while (!stop_ && (open[0] || open[1])) {
    if (l->reset) {
      rst(l->client);
      rst(l->server);
      l->client = l->server = -1;
      return;
    }
    pollfd p[2] = {{open[0] ? l->client : -1, POLLIN, 0}, {open[1] ? l->server : -1, POLLIN, 0}};
    if (::poll(p, 2, 50) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      auto n = ::read(p[i].fd, buf, sizeof buf);
      if (n <= 0) {
        open[i] = false;
        // One side closed: close the other too, unless blackholed (then stay silent).
        if (!l->dead) {
          ::shutdown(l->client, SHUT_RDWR);
          ::shutdown(l->server, SHUT_RDWR);
          return;
        }
        continue;
      }
      if (l->dead) continue;  // swallowed
      int to = i == 0 ? l->server : l->client;
      for (ssize_t off = 0; off < n;) {
        auto w = ::write(to, buf + off, static_cast<size_t>(n - off));
        if (w <= 0) return;
        off += w;
      }
    }
  }
}

}  // namespace dmq::test
