#include "cli/connection.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace dmq::cli {

namespace {

constexpr const char* default_url = "http://127.0.0.1:8989";

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string{};
}

// trimmed drops the whitespace around s (a token file's final newline).
std::string trimmed(const std::string& s) {
  auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

}  // namespace

std::string url_from_config(const std::string& config_dir, std::string& why) {
  auto path = std::filesystem::path(config_dir) / "config.yaml";
  YAML::Node root;
  try {
    root = YAML::LoadFile(path.string());
  } catch (const std::exception& e) {
    why = "--config: cannot read " + path.string() + ": " + e.what();
    return {};
  }
  std::string host = "127.0.0.1";
  int port = 8989;
  bool tls = false;
  try {
    if (auto p = root["http_port"]; p && p.IsScalar()) port = p.as<int>();
    if (auto h = root["http"]; h && h.IsMap()) {
      if (auto l = h["listen"]; l && l.IsScalar()) host = l.as<std::string>();
      if (auto t = h["tls"]; t && t.IsMap())
        if (auto c = t["cert_file"]; c && c.IsScalar()) tls = !c.as<std::string>().empty();
    }
  } catch (const std::exception& e) {
    why = "--config: " + path.string() + ": http settings: " + e.what();
    return {};
  }
  // A wildcard address is where dmq listens, not where to call it: call it on loopback.
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::" || host == "[::]") host = "::1";
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(port);
}

std::variant<connection, std::string> resolve(const connection_flags& f) {
  connection c;
  if (!f.url.empty()) {
    c.url = f.url;
  } else if (auto e = env("DMQ_URL"); !e.empty()) {
    c.url = e;
  } else if (!f.config_dir.empty()) {
    std::string why;
    c.url = url_from_config(f.config_dir, why);
    if (c.url.empty()) return why;
  } else {
    c.url = default_url;
  }
  if (auto why = parse_url(c.url, c.at); !why.empty()) return "--url: " + why;

  if (!f.token.empty()) {
    c.options.token = f.token;
  } else if (!f.token_file.empty()) {
    std::ifstream in(f.token_file);
    if (!in) return "--token-file: cannot read '" + f.token_file + "'";
    std::stringstream ss;
    ss << in.rdbuf();
    c.options.token = trimmed(ss.str());
    if (c.options.token.empty()) return "--token-file: '" + f.token_file + "' is empty";
  } else {
    c.options.token = env("DMQ_TOKEN");
  }
  c.options.ca_file = f.ca_file;
  c.options.insecure = f.insecure;
  if (!(f.timeout_s > 0) || f.timeout_s > 3600) return "--timeout: must be 0..3600 seconds";
  c.options.timeout = std::chrono::milliseconds(static_cast<long long>(f.timeout_s * 1000));
  return c;
}

}  // namespace dmq::cli
