#include "support/node_verifier.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "support/ports.h"

namespace fs = std::filesystem;
namespace json = boost::json;

namespace dmq::test {

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

fs::path node_dir() {
  return fs::path(DMQ_SOURCE_DIR) / "tests" / "node";
}

}  // namespace

std::string node_binary() {
  if (::access("/usr/bin/node", X_OK) == 0) return "/usr/bin/node";
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string d; std::getline(dirs, d, ':');)
    if (!d.empty() && ::access((fs::path(d) / "node").c_str(), X_OK) == 0)
      return (fs::path(d) / "node").string();
  return "";
}

std::string node_verifier::why_unavailable() {
  if (node_binary().empty())
    return "Node.js (node) is not installed: scripts/setup.sh installs it (Debian's nodejs)";
  return "";
}

node_verifier::node_verifier(std::map<std::string, node_route> routes) {
  static std::atomic<int> n{0};
  dir_ = (fs::temp_directory_path() /
          ("dmq-node-" + std::to_string(::getpid()) + "-" + std::to_string(n++)))
             .string();
  fs::create_directories(dir_);
  auto modules = node_dir() / "node_modules" / "standardwebhooks";
  if (!fs::exists(modules))
    throw std::runtime_error(modules.string() +
                             " is missing: run scripts/setup.sh (npm ci in tests/node)");
  json::object cfg{{"ready_file", dir_ + "/port"}, {"log_file", dir_ + "/deliveries.jsonl"}};
  json::object rs;
  for (const auto& [name, r] : routes) {
    json::array secrets;
    for (const auto& s : r.secrets) secrets.emplace_back(s);
    rs[name] =
        json::object{{"secrets", secrets}, {"tamper", r.tamper}, {"fail_first", r.fail_first}};
  }
  cfg["routes"] = rs;
  auto cfg_text = json::serialize(cfg);
  auto node = node_binary();
  auto script = (node_dir() / "verify_consumer.js").string();
  auto out = dir_ + "/node.log";
  pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("node_verifier: cannot fork");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    ::execl(node.c_str(), node.c_str(), script.c_str(), cfg_text.c_str(), nullptr);
    ::_exit(127);
  }
  bool exited = false;
  bool up = wait_until([&] {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) exited = true;
    return exited || fs::exists(dir_ + "/port");
  });
  if (exited) pid_ = -1;
  if (!up || exited) {
    auto why = "node verify_consumer.js did not start; its output:\n" + log();
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    throw std::runtime_error(why);
  }
  port_ = std::stoi(read_all(dir_ + "/port"));
}

node_verifier::~node_verifier() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string node_verifier::log() const {
  return read_all(dir_ + "/node.log");
}

std::vector<node_delivery> node_verifier::deliveries() const {
  std::vector<node_delivery> out;
  std::ifstream in(dir_ + "/deliveries.jsonl");
  auto str = [](const json::object& o, const char* k) -> std::optional<std::string> {
    auto* v = o.if_contains(k);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string(v->as_string());
  };
  for (std::string line; std::getline(in, line);) {
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    if (ec || !v.is_object()) continue;  // a line being written: read again later
    const auto& o = v.as_object();
    node_delivery d;
    d.route = str(o, "route").value_or("");
    d.webhook_id = str(o, "webhook_id");
    d.webhook_timestamp = str(o, "webhook_timestamp");
    d.webhook_signature = str(o, "webhook_signature");
    d.message_id = str(o, "message_id").value_or("");
    d.attempt = str(o, "attempt").value_or("");
    d.body = str(o, "body").value_or("");
    d.verified = o.at("verified").as_bool();
    for (const auto& r : o.at("results").as_array())
      d.reasons.emplace_back(r.as_object().at("reason").as_string());
    d.status = static_cast<int>(o.at("status").to_number<long long>());
    d.received_s = o.at("received_s").to_number<long long>();
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<node_delivery> node_verifier::of(const std::string& route) const {
  std::vector<node_delivery> out;
  for (auto& d : deliveries())
    if (d.route == route) out.push_back(std::move(d));
  return out;
}

}  // namespace dmq::test
