// log_sinks: the two spdlog sinks that keep dmq's logs from filling a disk.
//
// capped_file_sink writes to one stable name, dmq-<role>.log (so `tail -F` follows it),
// and rotates it when it reaches max_bytes, or when its period (an hour, a day) ends: the
// file is renamed beside it to dmq-<role>.<YYYYmmdd-HHMMSS>.log (the time it was started,
// so names sort by age) and the oldest beyond max_files are deleted.
//
// rate_limit_sink passes at most `burst` warnings or errors of one kind per window to the
// sinks it wraps, and then one line saying how many were left out. Lines of a kind are those equal
// but for their numbers ("deliver 7 to a: refused" and "deliver 8 to a: refused"), so a
// failing consumer or a Redis outage logs a few lines a window, not one per message.
#pragma once

#include <spdlog/details/file_helper.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/dist_sink.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>

namespace dmq::app {

class capped_file_sink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // period: 0 rotates by size only; else also when this many seconds of wall-clock time
  // (3600: on the hour, 86400: at midnight UTC) begin anew.
  capped_file_sink(std::filesystem::path file, std::uint64_t max_bytes, int max_files,
                   std::int64_t period_s);

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override;

 private:
  void rotate(std::chrono::system_clock::time_point now);
  void prune();

  std::filesystem::path file_;
  std::uint64_t max_bytes_;
  int max_files_;
  std::int64_t period_s_;
  std::int64_t period_ = 0;  // the period the open file belongs to
  std::chrono::system_clock::time_point opened_;
  std::uint64_t size_ = 0;
  spdlog::details::file_helper out_;
};

class rate_limit_sink : public spdlog::sinks::dist_sink<std::mutex> {
 public:
  rate_limit_sink(int burst, std::chrono::seconds window) : burst_(burst), window_(window) {}

  // kind returns the key of a line: its text with every run of digits as one '#'.
  static std::string kind(std::string_view text);

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;

 private:
  struct seen {
    std::chrono::system_clock::time_point since;
    int passed = 0;
    std::uint64_t left_out = 0;
    spdlog::level::level_enum level;
  };
  void report(const std::string& kind, seen& s);

  int burst_;
  std::chrono::seconds window_;
  std::map<std::string, seen> kinds_;
};

}  // namespace dmq::app
