// connection: where the CLI finds dmq and what it proves itself with. URL: --url, else
// DMQ_URL, else the --config DIR's config.yaml (http.listen and http_port; https when
// http.tls.cert_file is set), else http://127.0.0.1:8989. Token: --token, else
// --token-file, else DMQ_TOKEN.
#pragma once

#include <string>
#include <variant>

#include "cli/http_call.h"

namespace dmq::cli {

// connection_flags: the flags every API subcommand takes, as given.
struct connection_flags {
  std::string url;
  std::string config_dir;
  std::string token;
  std::string token_file;
  std::string ca_file;
  bool insecure = false;
  double timeout_s = 10;
};

struct connection {
  std::string url;  // as resolved, for messages
  endpoint at;
  call_options options;
};

// url_from_config returns the URL a dmq started on config_dir serves its API at; "" and why
// when it cannot tell (the file is missing or not YAML). It reads config.yaml's few http
// keys only, so it needs none of the secrets the rest of the file may name.
std::string url_from_config(const std::string& config_dir, std::string& why);

// resolve returns the connection flags (and the environment) describe, or a usage error.
std::variant<connection, std::string> resolve(const connection_flags& f);

}  // namespace dmq::cli
