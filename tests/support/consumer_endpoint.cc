#include "support/consumer_endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

namespace dmq::test {

namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return std::string(s);
}

template <class T>
T number(std::string_view s, T fallback) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() ? v : fallback;
}

// parse_head fills method, target, path, query fields and headers from the request head.
bool parse_head(std::string_view head, consumer_request& r) {
  auto eol = head.find("\r\n");
  auto line = head.substr(0, eol);
  auto sp1 = line.find(' ');
  auto sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return false;
  r.method = std::string(line.substr(0, sp1));
  r.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  auto q = r.target.find('?');
  r.path = r.target.substr(0, q);
  if (q != std::string::npos) {
    std::string_view query(r.target);
    query.remove_prefix(q + 1);
    while (!query.empty()) {
      auto amp = query.find('&');
      auto pair = query.substr(0, amp);
      auto eq = pair.find('=');
      auto key = pair.substr(0, eq);
      auto value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
      if (key == "msg_id") r.msg_id = number<std::uint64_t>(value, 0);
      if (key == "retry") r.retry = number<int>(value, -1);
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }
  while (eol != std::string_view::npos) {
    head.remove_prefix(eol + 2);
    eol = head.find("\r\n");
    auto h = head.substr(0, eol);
    if (h.empty()) break;
    auto colon = h.find(':');
    if (colon == std::string_view::npos) return false;
    r.headers[lower(std::string(h.substr(0, colon)))] = trim(h.substr(colon + 1));
  }
  return true;
}

std::string reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

bool send_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    auto n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

std::string consumer_request::header(const std::string& name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? "" : it->second;
}

consumer_endpoint::consumer_endpoint() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 1024) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("consumer_endpoint: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

consumer_endpoint::~consumer_endpoint() {
  stop();
}

void consumer_endpoint::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
  }
  acceptor_.join();
  ::close(listen_fd_);
  {
    std::lock_guard lock(mu_);
    for (auto& c : connections_)
      if (c->fd >= 0) ::shutdown(c->fd, SHUT_RDWR);  // wakes recv()
  }
  changed_.notify_all();  // cuts delays short
  for (auto& c : connections_) c->thread.join();
  connections_.clear();
}

void consumer_endpoint::accept_loop() {
  for (;;) {
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    std::lock_guard lock(mu_);
    if (stopping_) {
      if (fd >= 0) ::close(fd);
      return;
    }
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // Reap the threads of connections that ended.
    for (auto it = connections_.begin(); it != connections_.end();) {
      if ((*it)->done) {
        (*it)->thread.join();
        it = connections_.erase(it);
      } else {
        ++it;
      }
    }
    auto c = std::make_unique<connection>();
    c->fd = fd;
    auto* raw = c.get();
    connections_.push_back(std::move(c));
    raw->thread = std::thread([this, raw] { serve(raw); });
  }
}

void consumer_endpoint::serve(connection* c) {
  std::string buf;
  char chunk[16384];
  auto close_conn = [&](bool reset) {
    std::lock_guard lock(mu_);
    if (reset) {
      linger l{1, 0};
      ::setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    ::close(c->fd);
    c->fd = -1;
    c->done = true;
  };
  // read_until reads until buf holds at least n bytes; false on EOF or error.
  auto fill = [&]() {
    auto n = ::recv(c->fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf.append(chunk, static_cast<std::size_t>(n));
    return true;
  };
  for (;;) {
    std::size_t head_end;
    while ((head_end = buf.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return close_conn(false);
    consumer_request r;
    if (!parse_head(std::string_view(buf).substr(0, head_end + 2), r)) return close_conn(false);
    auto length = number<std::size_t>(r.header("content-length"), 0);
    while (buf.size() < head_end + 4 + length)
      if (!fill()) return close_conn(false);
    r.body = buf.substr(head_end + 4, length);
    buf.erase(0, head_end + 4 + length);
    r.arrived_ms = wall_ms();
    bool keep_alive = lower(r.header("connection")) != "close";

    std::unique_lock lock(mu_);
    auto a = decide(r);
    seen_[r.path].insert(r.msg_id);
    auto index = requests_.size();
    requests_.push_back(std::move(r));
    changed_.notify_all();
    if (a.delay_ms > 0)
      changed_.wait_for(lock, std::chrono::milliseconds(a.delay_ms), [&] { return stopping_; });
    if (stopping_) {
      lock.unlock();
      return close_conn(true);
    }
    requests_[index].status = a.reset ? 0 : a.status;
    requests_[index].answered_ms = wall_ms();
    changed_.notify_all();
    lock.unlock();
    if (a.reset) return close_conn(true);
    std::string body = a.status >= 200 && a.status < 300 ? "ok" : "scripted failure";
    std::string res =
        "HTTP/1.1 " + std::to_string(a.status) + " " + reason(a.status) +
        "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
        (keep_alive ? "" : "Connection: close\r\n") + "\r\n" + body;
    if (!send_all(c->fd, res) || !keep_alive) return close_conn(false);
  }
}

answer consumer_endpoint::decide(const consumer_request& r) {
  auto key = r.path + "#" + std::to_string(r.msg_id);
  for (auto it = rules_.rbegin(); it != rules_.rend(); ++it) {
    if (!r.path.starts_with(it->path_prefix)) continue;
    if (it->id && *it->id != r.msg_id) continue;
    if (it->body && r.body.find(*it->body) == std::string::npos) continue;
    int& used = it->used[key];
    if (it->a.times >= 0 && used >= it->a.times) continue;
    ++used;
    return it->a;
  }
  if (default_.times >= 0) {  // e.g. set_default(answer::fail_times(1)): then 200
    int& used = default_used_[key];
    if (used >= default_.times) return answer{};
    ++used;
  }
  return default_;
}

void consumer_endpoint::add_rule(rule r) {
  std::lock_guard lock(mu_);
  rules_.push_back(std::move(r));
}

void consumer_endpoint::set_default(answer a) {
  std::lock_guard lock(mu_);
  default_ = a;
  default_used_.clear();
}

void consumer_endpoint::when_path(std::string prefix, answer a, std::string body_contains) {
  std::optional<std::string> body;
  if (!body_contains.empty()) body = std::move(body_contains);
  add_rule({std::move(prefix), std::nullopt, std::move(body), a, {}});
}

void consumer_endpoint::when_id(std::uint64_t id, answer a) {
  add_rule({"", id, std::nullopt, a, {}});
}

void consumer_endpoint::when_body(std::string substring, answer a) {
  add_rule({"", std::nullopt, std::move(substring), a, {}});
}

void consumer_endpoint::clear_rules() {
  std::lock_guard lock(mu_);
  rules_.clear();
  default_ = answer{};
  default_used_.clear();
}

std::vector<consumer_request> consumer_endpoint::requests(const std::string& prefix) const {
  std::lock_guard lock(mu_);
  std::vector<consumer_request> out;
  for (const auto& r : requests_)
    if (r.path.starts_with(prefix)) out.push_back(r);
  return out;
}

std::vector<consumer_request> consumer_endpoint::for_id(std::uint64_t id,
                                                        const std::string& prefix) const {
  std::lock_guard lock(mu_);
  std::vector<consumer_request> out;
  for (const auto& r : requests_)
    if (r.msg_id == id && r.path.starts_with(prefix)) out.push_back(r);
  return out;
}

std::size_t consumer_endpoint::count() const {
  std::lock_guard lock(mu_);
  return requests_.size();
}

std::size_t consumer_endpoint::distinct(const std::string& prefix) const {
  std::lock_guard lock(mu_);
  std::set<std::uint64_t> ids;
  for (const auto& [path, s] : seen_)
    if (path.starts_with(prefix)) ids.insert(s.begin(), s.end());
  return ids.size();
}

std::multiset<std::uint64_t> consumer_endpoint::ids_received(const std::string& prefix) const {
  std::lock_guard lock(mu_);
  std::multiset<std::uint64_t> out;
  for (const auto& r : requests_)
    if (r.path.starts_with(prefix)) out.insert(r.msg_id);
  return out;
}

bool consumer_endpoint::wait_for_count(std::size_t n, std::chrono::milliseconds bound) {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, bound, [&] { return requests_.size() >= n; });
}

bool consumer_endpoint::wait_for_distinct(const std::string& prefix, std::size_t n,
                                          std::chrono::milliseconds bound) {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, bound, [&] {
    std::size_t total = 0;  // summed over paths: each consumer has one path
    for (const auto& [path, s] : seen_)
      if (path.starts_with(prefix)) total += s.size();
    return total >= n;
  });
}

bool consumer_endpoint::wait_until(
    const std::function<bool(const std::vector<consumer_request>&)>& pred,
    std::chrono::milliseconds bound) {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, bound, [&] { return pred(requests_); });
}

}  // namespace dmq::test
