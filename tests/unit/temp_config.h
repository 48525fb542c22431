// temp_config: a CONFIG_DIR written for one unit test (config.yaml and a command file),
// loaded through config::load as dmq loads it, and environment variables set for the test.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.h"

namespace dmq::unit {

// temp_config: a unique temporary CONFIG_DIR, removed at the end of the test.
class temp_config {
 public:
  temp_config() {
    static std::atomic<int> n{0};
    path_ = std::filesystem::temp_directory_path() /
            ("dmq-auth-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_ / "commands");
    write("commands/cmd-a.yaml", R"(project: a
command: a:do
consumer_list:
  - host: 127.0.0.1:1
    name: a_consumer
    path: /a
)");
  }
  ~temp_config() { std::filesystem::remove_all(path_); }
  temp_config(const temp_config&) = delete;
  temp_config& operator=(const temp_config&) = delete;

  // write writes text to name, relative to the directory.
  temp_config& write(const std::string& name, const std::string& text) {
    std::ofstream(path_ / name, std::ios::binary) << text;
    return *this;
  }
  // load writes config.yaml (yaml, plus the command list) and loads the directory.
  config::load_result load(const std::string& yaml) {
    write("config.yaml", yaml + "\ncommand_list:\n  - cmd-a.yaml\n");
    return config::load(path_);
  }
  // settings loads yaml and fails the test if it does not load.
  config::settings settings(const std::string& yaml) {
    auto r = load(yaml);
    std::string problems;
    for (const auto& p : r.problems) problems += "\n  " + p.to_string();
    EXPECT_TRUE(r.cfg) << problems;
    return r.cfg ? *r.cfg : config::settings{};
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// scoped_env sets (or, with nullptr, unsets) an environment variable until its end.
class scoped_env {
 public:
  scoped_env(std::string name, const char* value) : name_(std::move(name)) {
    if (value)
      ::setenv(name_.c_str(), value, 1);
    else
      ::unsetenv(name_.c_str());
  }
  ~scoped_env() { ::unsetenv(name_.c_str()); }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

 private:
  std::string name_;
};

}  // namespace dmq::unit
