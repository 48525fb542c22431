#include "support/http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <stdexcept>

namespace dmq::test {

boost::json::value http_reply::json() const {
  return boost::json::parse(body);
}
long long http_reply::code() const {
  return json().at("code").to_number<long long>();
}
boost::json::value http_reply::data() const {
  return json().at("data");
}

http_client::http_client(int port) : http_client(port, std::string()) {}

http_client::http_client(int port, const std::string& source) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error("http_client: no socket");
  if (!source.empty()) {
    sockaddr_in from{};
    from.sin_family = AF_INET;
    if (::inet_pton(AF_INET, source.c_str(), &from.sin_addr) != 1) {
      ::close(fd_);
      throw std::runtime_error("http_client: not an IPv4 address: " + source);
    }
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
      ::close(fd_);
      throw std::runtime_error("http_client: cannot bind to " + source);
    }
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd_);
    throw std::runtime_error("http_client: cannot connect to port " + std::to_string(port));
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

http_client::~http_client() {
  if (fd_ >= 0) ::close(fd_);
}

void http_client::send_raw(const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    auto n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;  // the server closed: the reply (or its absence) tells the test
    off += static_cast<std::size_t>(n);
  }
}

http_reply http_client::request(const std::string& method, const std::string& target,
                                const std::string& body, const header_list& headers) {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  bool has_type = false;
  for (const auto& [k, v] : headers) {
    req += k + ": " + v + "\r\n";
    if (k == "Content-Type") has_type = true;
  }
  if (!body.empty() && !has_type) req += "Content-Type: application/json\r\n";
  if (!body.empty() || method == "POST")
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  send_raw(req);
  auto r = read_reply(std::chrono::seconds(10));
  if (!r) throw std::runtime_error("http_client: no answer to " + method + " " + target);
  record_response(method, target, *r);
  return *r;
}

void record_response(const std::string& method, const std::string& target, const http_reply& r) {
  const char* file = std::getenv("DMQ_RESPONSE_LOG");
  if (!file || !*file) return;
  auto type = r.headers.find("content-type");
  std::string line = boost::json::serialize(
      boost::json::object{{"method", method},
                          {"target", target},
                          {"status", r.status},
                          {"content_type", type == r.headers.end() ? std::string() : type->second},
                          {"body", r.body}});
  line += '\n';
  // One write per line on an O_APPEND descriptor: lines of concurrent callers (tests that
  // send from several threads) do not interleave.
  int fd = ::open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(std::string("http_client: cannot open ") + file);
  auto n = ::write(fd, line.data(), line.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(line.size()))
    throw std::runtime_error(std::string("http_client: cannot write ") + file);
}

std::optional<http_reply> http_client::read_reply(std::chrono::milliseconds bound) {
  auto until = std::chrono::steady_clock::now() + bound;
  auto fill = [&]() -> bool {  // reads more bytes; false on close or time out
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char tmp[65536];
    auto n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  };
  std::size_t end;
  while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
    if (!fill()) return std::nullopt;
  http_reply r;
  std::string head = buf_.substr(0, end);
  auto line_end = head.find("\r\n");
  auto status_line = head.substr(0, line_end);
  r.status = std::stoi(status_line.substr(status_line.find(' ') + 1, 3));
  std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    auto e = head.find("\r\n", pos);
    if (e == std::string::npos) e = head.size();
    auto line = head.substr(pos, e - pos);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string k = line.substr(0, colon);
      for (auto& ch : k) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      auto v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      r.headers[k] = v;
    }
    pos = e + 2;
  }
  std::size_t len = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
  while (buf_.size() < end + 4 + len)
    if (!fill()) return std::nullopt;
  r.body = buf_.substr(end + 4, len);
  buf_.erase(0, end + 4 + len);
  if (r.status == 100) return read_reply(bound);
  return r;
}

bool http_client::closed(std::chrono::milliseconds bound) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(bound.count())) <= 0) return false;
  char tmp[4096];
  return ::recv(fd_, tmp, sizeof tmp, MSG_PEEK) == 0;
}

http_reply call(int port, const std::string& method, const std::string& target,
                const std::string& body, const header_list& headers) {
  http_client c(port);
  return c.request(method, target, body, headers);
}

http_reply call_from(const std::string& source, int port, const std::string& method,
                     const std::string& target, const std::string& body,
                     const header_list& headers) {
  http_client c(port, source);
  return c.request(method, target, body, headers);
}

}  // namespace dmq::test
