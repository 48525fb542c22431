#include "http/tls_context.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/context.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace ssl = boost::asio::ssl;
namespace fs = std::filesystem;

namespace dmq::http {

namespace {

// unreadable returns why key's file p cannot be read, or "".
std::string unreadable(const char* key, const fs::path& p) {
  std::ifstream in(p);
  if (in) return "";
  return std::string(key) + " " + p.string() + ": cannot read it: " + std::strerror(errno);
}

// refused returns the error of an OpenSSL call on key's file p, and clears OpenSSL's queue.
std::string refused(const char* key, const fs::path& p, const char* what,
                    const boost::system::error_code& ec) {
  ::ERR_clear_error();
  return std::string(key) + " " + p.string() + ": " + what + " (" + ec.message() + ")";
}

// built: a context, or why it could not be made.
struct built {
  std::shared_ptr<ssl::context> ctx;
  std::string error;
};

// add_client_cas makes ctx ask for, and require, a client certificate signed by a CA of f.
std::string add_client_cas(ssl::context& ctx, const fs::path& f) {
  if (auto e = unreadable("client_ca_file", f); !e.empty()) return e;
  boost::system::error_code ec;
  ctx.load_verify_file(f.string(), ec);
  if (ec) return refused("client_ca_file", f, "no PEM certificate in it", ec);
  // Name the accepted CAs in the handshake, so a client with several certificates picks.
  if (auto* names = ::SSL_load_client_CA_file(f.c_str()))
    ::SSL_CTX_set_client_CA_list(ctx.native_handle(), names);
  ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  return "";
}

// build reads files into a new server context: TLS 1.2 or later, the certificate chain and
// its key (checked to match), and the client CAs if any.
built build(const tls_files& files) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  ::SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  // Sessions resumed across connections need an id context once clients are verified.
  static constexpr unsigned char sid[] = "dmq";
  ::SSL_CTX_set_session_id_context(ctx->native_handle(), sid, sizeof sid - 1);
  if (auto e = unreadable("cert_file", files.cert_file); !e.empty()) return {nullptr, e};
  if (auto e = unreadable("key_file", files.key_file); !e.empty()) return {nullptr, e};
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(files.cert_file.string(), ec);
  if (ec) return {nullptr, refused("cert_file", files.cert_file, "not a PEM certificate", ec)};
  ctx->use_private_key_file(files.key_file.string(), ssl::context::pem, ec);
  if (ec)
    return {nullptr, refused("key_file", files.key_file, "not a PEM private key of cert_file", ec)};
  if (::SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    ::ERR_clear_error();
    return {nullptr, "key_file " + files.key_file.string() + " is not the key of cert_file " +
                         files.cert_file.string()};
  }
  if (!files.client_ca_file.empty())
    if (auto e = add_client_cas(*ctx, files.client_ca_file); !e.empty()) return {nullptr, e};
  return {std::move(ctx), ""};
}

}  // namespace

tls_context::tls_context(tls_files files) : files_(std::move(files)) {}

tls_context::~tls_context() = default;

std::string tls_context::load() {
  auto b = build(files_);
  if (b.ctx) current_ = std::move(b.ctx);
  return b.error;
}

std::string tls_context::subject() const {
  if (!current_) return "";
  X509* cert = ::SSL_CTX_get0_certificate(current_->native_handle());
  if (!cert) return "";
  char name[512];
  ::X509_NAME_oneline(::X509_get_subject_name(cert), name, sizeof name);
  std::string out = name;
  if (BIGNUM* bn = ::ASN1_INTEGER_to_BN(::X509_get_serialNumber(cert), nullptr)) {
    if (char* hex = ::BN_bn2hex(bn)) {
      out.append(", serial ").append(hex);
      ::OPENSSL_free(hex);
    }
    ::BN_free(bn);
  }
  return out;
}

std::string check_tls_files(const tls_files& files) {
  return build(files).error;
}

}  // namespace dmq::http
