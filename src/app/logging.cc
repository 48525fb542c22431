#include "app/logging.h"

#include <spdlog/sinks/daily_file_sink.h>
#include <spdlog/sinks/hourly_file_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <filesystem>

namespace dmq::app {

std::string setup_logging(const config::log_settings& s, std::string_view role) {
  std::vector<spdlog::sink_ptr> sinks;
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  sinks.push_back(console);
  if (!s.dir.empty()) {
    try {
      std::filesystem::create_directories(s.dir);
      auto file = (s.dir / ("dmq-" + std::string(role) + ".log")).string();
      auto keep = static_cast<uint16_t>(std::max(0, s.max_files));
      if (s.rotate == "daily")
        sinks.push_back(
            std::make_shared<spdlog::sinks::daily_file_sink_mt>(file, 0, 0, false, keep));
      else if (s.rotate == "size")
        sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
            file, static_cast<std::size_t>(s.max_size_mb) << 20, std::max<std::size_t>(keep, 1)));
      else
        sinks.push_back(std::make_shared<spdlog::sinks::hourly_file_sink_mt>(file, false, keep));
      console->set_level(spdlog::level::warn);
    } catch (const std::exception& e) {
      return std::string("log.dir: ") + e.what();
    }
  }
  auto logger = std::make_shared<spdlog::logger>("dmq", sinks.begin(), sinks.end());
  logger->set_level(spdlog::level::from_str(s.level));
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ [" + std::string(role) + "] %v");
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  spdlog::flush_every(std::chrono::seconds(1));
  return {};
}

}  // namespace dmq::app
