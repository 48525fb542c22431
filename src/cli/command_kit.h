// command_kit: what the files defining the API subcommands share: the registry they add
// themselves to, the flags every one of them takes, and small parsers of their arguments.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/connection.h"
#include "cli/session.h"

namespace dmq::cli {

// common_flags: --url, --config, --token, --token-file, --ca-file, --insecure, --timeout,
// --json; every API subcommand binds its copy of them here (one subcommand runs).
struct common_flags {
  connection_flags conn;
  bool json = false;
};

using runner = std::function<int(session&)>;

struct registry {
  explicit registry(CLI::App& a) : app(a) {}
  CLI::App& app;
  common_flags flags;
  std::vector<std::pair<CLI::App*, runner>> list;

  // add adds subcommand name with the common flags; run is called if it is selected.
  CLI::App* add(const std::string& name, const std::string& description, runner run);
};

void add_message_commands(registry& r);    // send status detail attempts find cancel reschedule
void add_list_commands(registry& r);       // pending scheduled failed retry solved
void add_operation_commands(registry& r);  // pause resume replay solve jobs stats
void add_tail_command(registry& r);        // tail

// is_id says whether s is a message id: 1 to 19 decimal digits, not all zeros.
bool is_id(const std::string& s);
// parse_duration_ms reads "500ms", "30s", "5m", "2h", "1d" (a unit is required, so that
// no one confuses seconds and milliseconds); nullopt if s is not one.
std::optional<std::int64_t> parse_duration_ms(const std::string& s);
// read_argument returns s, or the content of file F when s is "@F" ("@-": stdin); nullopt
// and why when the file cannot be read.
std::optional<std::string> read_argument(const std::string& s, std::string& why);

// usage says why on stderr and returns exit_usage: an argument CLI11 could not check.
int usage(session& s, const std::string& why);

// id_strings returns ids as a JSON array of strings (ids stay exact in every client).
boost::json::array id_strings(const std::vector<std::string>& ids);

}  // namespace dmq::cli
