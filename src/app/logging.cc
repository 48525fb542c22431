#include "app/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "app/log_sinks.h"

namespace dmq::app {

namespace {
constexpr int lines_per_kind = 10;  // warnings or errors of one kind a minute
}  // namespace

std::string setup_logging(const config::log_settings& s, std::string_view role) {
  // Every line goes through the rate limit, then to stderr and (with log.dir) the file.
  auto limited = std::make_shared<rate_limit_sink>(lines_per_kind, std::chrono::seconds(60));
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  limited->add_sink(console);
  if (!s.dir.empty()) {
    try {
      std::filesystem::create_directories(s.dir);
      std::int64_t period = s.rotate == "daily" ? 86400 : s.rotate == "size" ? 0 : 3600;
      limited->add_sink(std::make_shared<capped_file_sink>(
          s.dir / ("dmq-" + std::string(role) + ".log"),
          static_cast<std::uint64_t>(std::max(1, s.max_size_mb)) << 20, s.max_files, period));
      console->set_level(spdlog::level::warn);
    } catch (const std::exception& e) {
      return std::string("log.dir: ") + e.what();
    }
  }
  auto logger = std::make_shared<spdlog::logger>("dmq", limited);
  logger->set_level(spdlog::level::from_str(s.level));
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ [" + std::string(role) + "] %v");
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  spdlog::flush_every(std::chrono::seconds(1));
  if (!s.dir.empty() && s.max_files <= 0)
    spdlog::warn("log.max_files: 0 keeps every rotated log file: the logs can fill the disk");
  return {};
}

}  // namespace dmq::app
