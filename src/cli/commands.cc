#include "cli/commands.h"

#include <boost/json/array.hpp>
#include <charconv>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/command_kit.h"

namespace dmq::cli {

CLI::App* registry::add(const std::string& name, const std::string& description, runner run) {
  auto* s = app.add_subcommand(name, description);
  s->group("Operate a running dmq (over its HTTP API)");
  auto& c = flags.conn;
  // Listed under their own heading, after the subcommand's own options.
  const char* group = "Connection and output";
  s->add_option("--url", c.url,
                "dmq's API, http(s)://host:port[/prefix]; else $DMQ_URL, else --config's, else "
                "http://127.0.0.1:8989")
      ->group(group);
  s->add_option("--config", c.config_dir,
                "A config dir whose config.yaml says where dmq listens (http.listen, http_port, "
                "http.tls)")
      ->group(group);
  s->add_option("--token", c.token, "Bearer token; else --token-file, else $DMQ_TOKEN")
      ->group(group);
  s->add_option("--token-file", c.token_file, "File holding the bearer token")->group(group);
  s->add_option("--ca-file", c.ca_file, "https: PEM file of the CAs to trust (else the system's)")
      ->group(group);
  s->add_flag("--insecure", c.insecure, "https: do not verify dmq's certificate")->group(group);
  s->add_option("--timeout", c.timeout_s, "Seconds to wait for each answer (default 10)")
      ->group(group);
  s->add_flag("--json", flags.json, "Print the answer's data as JSON, for scripts")->group(group);
  list.emplace_back(s, std::move(run));
  return s;
}

commands::commands(CLI::App& app) : reg_(std::make_unique<registry>(app)) {
  add_message_commands(*reg_);
  add_list_commands(*reg_);
  add_operation_commands(*reg_);
  add_tail_command(*reg_);
}

commands::~commands() = default;

std::optional<int> commands::run() {
  for (auto& [sub, run] : reg_->list) {
    if (!sub->parsed()) continue;
    auto c = resolve(reg_->flags.conn);
    if (auto* why = std::get_if<std::string>(&c)) {
      std::cerr << "dmq: " << *why << "\n";
      return exit_usage;
    }
    session s(std::move(std::get<connection>(c)), reg_->flags.json, std::cout, std::cerr);
    int rc = run(s);
    std::cout.flush();
    return rc;
  }
  return std::nullopt;
}

bool is_id(const std::string& s) {
  if (s.empty() || s.size() > 19) return false;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && v > 0;
}

std::optional<std::int64_t> parse_duration_ms(const std::string& s) {
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p == s.data() || n < 0) return std::nullopt;
  std::string unit(p, s.data() + s.size());
  std::int64_t scale = 0;
  if (unit == "ms") scale = 1;
  if (unit == "s") scale = 1000;
  if (unit == "m") scale = 60'000;
  if (unit == "h") scale = 3'600'000;
  if (unit == "d") scale = 86'400'000;
  if (scale == 0 || n > INT64_MAX / scale) return std::nullopt;
  return n * scale;
}

std::optional<std::string> read_argument(const std::string& s, std::string& why) {
  if (s.empty() || s[0] != '@') return s;
  auto path = s.substr(1);
  std::stringstream ss;
  if (path == "-") {
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(path);
  if (!in) {
    why = "cannot read '" + path + "'";
    return std::nullopt;
  }
  ss << in.rdbuf();
  return ss.str();
}

int usage(session& s, const std::string& why) {
  return s.fail(exit_usage, why);
}

boost::json::array id_strings(const std::vector<std::string>& ids) {
  boost::json::array a;
  for (const auto& id : ids) a.emplace_back(id);
  return a;
}

}  // namespace dmq::cli
