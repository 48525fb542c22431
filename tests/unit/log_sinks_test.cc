// log_sinks: the log file keeps one name, rotates by size and period, keeps max_files
// copies; repeated warnings are limited per kind.
#include "app/log_sinks.h"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace dmq::app {
namespace {

struct temp_dir {
  fs::path path = fs::temp_directory_path() /
                  ("dmq-log-" + std::to_string(::getpid()) + "-" +
                   std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  temp_dir() { fs::create_directories(path); }
  ~temp_dir() { fs::remove_all(path); }
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

TEST(capped_file_sink, rotates_by_size_under_a_stable_name_and_keeps_max_files) {
  temp_dir d;
  auto sink = std::make_shared<capped_file_sink>(d.path / "dmq-run.log", 4096, 3, 0);
  spdlog::logger log("t", sink);
  std::string line(1000, 'x');
  for (int i = 0; i < 40; ++i) log.info("{} {}", i, line);  // ~40 KB: ~10 rotations
  log.flush();
  auto names = d.files();
  ASSERT_EQ(names.size(), 4u) << "the live file and 3 rotated copies";
  EXPECT_EQ(names.back(), "dmq-run.log");
  for (std::size_t i = 0; i + 1 < names.size(); ++i)
    EXPECT_TRUE(names[i].starts_with("dmq-run.") && names[i].ends_with(".log")) << names[i];
  for (const auto& n : names) EXPECT_LE(fs::file_size(d.path / n), 4096u + 1100u) << n;
  std::ifstream live(d.path / "dmq-run.log");
  std::string all((std::istreambuf_iterator<char>(live)), {});
  EXPECT_NE(all.find("39 "), std::string::npos) << "the newest line is in the stable name";
}

TEST(capped_file_sink, rotates_when_its_hour_ends) {
  temp_dir d;
  auto sink = std::make_shared<capped_file_sink>(d.path / "dmq-run.log", 1 << 20, 5, 3600);
  spdlog::details::log_msg msg(spdlog::source_loc{}, "t", spdlog::level::info, "one");
  sink->log(msg);
  EXPECT_EQ(d.files().size(), 1u);
  msg.time += std::chrono::hours(1);
  sink->log(msg);
  sink->flush();
  EXPECT_EQ(d.files().size(), 2u) << "a new hour: the old file moved beside it";
  EXPECT_EQ(d.files().back(), "dmq-run.log");
}

TEST(rate_limit_sink, lines_equal_but_for_numbers_are_limited_per_window) {
  EXPECT_EQ(rate_limit_sink::kind("deliver 123 to a9: HTTP 502"), "deliver # to a#: HTTP #");
  std::ostringstream out;
  auto limited = std::make_shared<rate_limit_sink>(3, std::chrono::seconds(60));
  limited->add_sink(std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  spdlog::logger log("t", limited);
  log.set_pattern("%v");
  for (int i = 0; i < 100; ++i) log.warn("deliver {} to a: refused", i);
  log.warn("redis: lost");  // another kind passes
  log.info("deliver {} to a: done", 1);
  log.info("deliver {} to a: done", 2);
  log.info("deliver {} to a: done", 3);
  log.info("deliver {} to a: done", 4);  // info is never limited
  auto text = out.str();
  EXPECT_NE(text.find("deliver 2 to a: refused"), std::string::npos);
  EXPECT_EQ(text.find("deliver 3 to a: refused"), std::string::npos);
  EXPECT_NE(text.find("redis: lost"), std::string::npos);
  EXPECT_NE(text.find("deliver 4 to a: done"), std::string::npos);
  // The window ends: what was left out is said.
  spdlog::details::log_msg later(spdlog::source_loc{}, "t", spdlog::level::warn, "later");
  later.time += std::chrono::seconds(61);
  limited->log(later);
  EXPECT_NE(
      out.str().find("97 more lines like this one were left out in 60 s: deliver # to a: refused"),
      std::string::npos)
      << out.str();
}

}  // namespace
}  // namespace dmq::app
