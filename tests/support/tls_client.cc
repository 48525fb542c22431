#include "support/tls_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <stdexcept>

namespace dmq::test {

namespace {

// connect_loopback returns a socket connected to 127.0.0.1:port whose reads and writes
// give up after 5 s, or -1.
int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// content_length returns the Content-Length of head (lowercased or not), 0 if none.
std::size_t content_length(const std::string& head) {
  for (std::size_t at = head.find("\r\n"); at != std::string::npos; at = head.find("\r\n", at + 2))
    if (::strncasecmp(head.c_str() + at + 2, "content-length:", 15) == 0)
      return std::stoul(head.substr(at + 17));
  return 0;
}

}  // namespace

tls_client::tls_client(int port, const std::string& ca_file) {
  fd_ = connect_loopback(port);
  ctx_ = ::SSL_CTX_new(::TLS_client_method());
  if (fd_ < 0 || !ctx_ || ::SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr) != 1)
    throw std::runtime_error("tls_client: cannot connect or read " + ca_file);
  ::SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  ssl_ = ::SSL_new(ctx_);
  ::SSL_set_fd(ssl_, fd_);
  ::SSL_set1_host(ssl_, "127.0.0.1");
  if (::SSL_connect(ssl_) != 1) {
    char err[256];
    ::ERR_error_string_n(::ERR_get_error(), err, sizeof err);
    throw std::runtime_error(std::string("tls_client: handshake failed: ") + err);
  }
}

tls_client::~tls_client() {
  if (ssl_) ::SSL_free(ssl_);
  if (ctx_) ::SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
}

std::string tls_client::peer_subject() const {
  X509* cert = ::SSL_get0_peer_certificate(ssl_);
  if (!cert) return "";
  char name[512];
  ::X509_NAME_oneline(::X509_get_subject_name(cert), name, sizeof name);
  return name;
}

http_reply tls_client::get(const std::string& target) {
  http_reply r;
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  if (::SSL_write(ssl_, req.data(), static_cast<int>(req.size())) <= 0) return r;
  std::string in;
  char buf[16384];
  std::size_t head_end = std::string::npos;
  while (head_end == std::string::npos ||
         in.size() < head_end + 4 + content_length(in.substr(0, head_end))) {
    int n = ::SSL_read(ssl_, buf, sizeof buf);
    if (n <= 0) return r;
    in.append(buf, static_cast<std::size_t>(n));
    if (head_end == std::string::npos) head_end = in.find("\r\n\r\n");
  }
  r.status = std::stoi(in.substr(9, 3));
  r.body = in.substr(head_end + 4);
  return r;
}

}  // namespace dmq::test
