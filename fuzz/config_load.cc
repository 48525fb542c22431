// config_load: a configuration directory (config/config.h load): the input is config.yaml,
// and each line "#--- NAME" in it starts a command file commands/NAME instead (a YAML
// comment, so a plain config.yaml is an input as it is). load must report what is wrong as
// problems and never let an exception out: one it catches itself ("cannot be loaded: ...")
// is a bug too. A configuration it accepts must answer its look-ups.
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "config/config.h"

namespace fs = std::filesystem;
using namespace dmq;

namespace {

void check(bool ok, const char* what, const std::string& detail = {}) {
  if (ok) return;
  std::fprintf(stderr, "config_load: %s %s\n", what, detail.c_str());
  std::abort();
}

// scratch_dir returns this process's directory for the files of an input (in RAM if it can).
const fs::path& scratch_dir() {
  static const fs::path dir = [] {
    fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    auto d = base / ("dmq-fuzz-config-" + std::to_string(::getpid()));
    fs::create_directories(d / "commands");
    std::atexit([] { fs::remove_all(scratch_dir()); });
    return d;
  }();
  return dir;
}

// file_name keeps the letters, digits, '-', '_' and '.' of name (no path, no dot first).
std::string file_name(std::string_view name) {
  std::string out;
  for (char c : name.substr(0, 40))
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') out += c;
  if (out.empty() || out[0] == '.') out.insert(0, "f");
  return out;
}

// write_files writes the input's files into dir, after removing the last input's.
void write_files(const fs::path& dir, std::string_view in) {
  for (const auto& e : fs::directory_iterator(dir / "commands")) fs::remove(e.path());
  constexpr std::string_view marker = "\n#--- ";
  fs::path file = dir / "config.yaml";
  for (;;) {
    auto at = in.find(marker);
    std::ofstream(file, std::ios::binary | std::ios::trunc)
        .write(in.data(), static_cast<std::streamsize>(std::min(at, in.size())));
    if (at == std::string_view::npos) return;
    in.remove_prefix(at + marker.size());
    auto eol = in.find('\n');
    file = dir / "commands" / file_name(in.substr(0, eol));
    in.remove_prefix(eol == std::string_view::npos ? in.size() : eol + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& dir = scratch_dir();
  write_files(dir, std::string_view(reinterpret_cast<const char*>(data), size));
  auto r = config::load(dir);
  for (const auto& p : r.problems)
    check(p.reason.rfind("cannot be loaded: ", 0) != 0, "an exception escaped:", p.to_string());
  check(r.cfg.has_value() == r.problems.empty(), "settings and problems disagree");
  if (!r.cfg) return 0;
  for (const auto& c : r.cfg->commands) {
    check(r.cfg->find_command(c.cmd) != nullptr, "a command cannot be found:", c.cmd);
    for (const auto& x : c.consumers)
      check(r.cfg->find_consumer(x.name).second != nullptr, "a consumer cannot be found:", x.name);
  }
  for (const auto& p : r.cfg->producers)
    check(r.cfg->find_producer(p.project) != nullptr, "a producer cannot be found:", p.project);
  return 0;
}
