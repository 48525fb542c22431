// tls_context: the API's certificate, key and (for mutual TLS) client CAs, loaded into an
// OpenSSL context that can be replaced while the server runs (SIGHUP). A connection takes
// the context current when it is accepted and keeps it to its end, so a reload never
// touches an open connection; a reload that fails keeps the context in use.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace dmq::http {

// tls_files: where the context is read from (absolute paths; client_ca_file may be empty).
struct tls_files {
  std::filesystem::path cert_file;
  std::filesystem::path key_file;
  std::filesystem::path client_ca_file;  // set: a caller must present a certificate it signed
};

class tls_context {
 public:
  explicit tls_context(tls_files files);
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  // load reads the files into a new context and makes it current; returns "" on success,
  // else what was wrong (naming the file), and the context in use (if any) stays.
  std::string load();
  // current returns the context new connections use; null before a successful load().
  std::shared_ptr<boost::asio::ssl::context> current() const { return current_; }
  // subject returns the current certificate's subject and serial, for the log.
  std::string subject() const;

 private:
  tls_files files_;
  std::shared_ptr<boost::asio::ssl::context> current_;
};

// check_tls_files returns what would stop files from loading ("" if they load), for
// `dmq check`; it builds a context and throws it away.
std::string check_tls_files(const tls_files& files);

}  // namespace dmq::http
