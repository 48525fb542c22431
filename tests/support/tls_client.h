// tls_client: a small blocking HTTPS/1.1 client (OpenSSL) that holds one keep-alive
// connection open for as long as a test needs, e.g. across a certificate reload, and says
// which certificate the server showed. For tests only; curl covers the rest.
#pragma once

#include <openssl/types.h>

#include <string>

#include "support/http_client.h"

namespace dmq::test {

class tls_client {
 public:
  // tls_client connects to 127.0.0.1:port and completes a TLS handshake, verifying the
  // server's certificate with ca_file; throws std::runtime_error if it cannot.
  tls_client(int port, const std::string& ca_file);
  ~tls_client();
  tls_client(const tls_client&) = delete;
  tls_client& operator=(const tls_client&) = delete;

  // peer_subject returns the server certificate's subject ("/CN=dmq-one").
  std::string peer_subject() const;
  // get sends GET target on this connection and reads the answer (5 s at most); status 0
  // if the connection failed or closed first.
  http_reply get(const std::string& target);

 private:
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

}  // namespace dmq::test
