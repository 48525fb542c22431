#include "app/log_sinks.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace fs = std::filesystem;

namespace dmq::app {

namespace {

std::int64_t seconds_of(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

capped_file_sink::capped_file_sink(fs::path file, std::uint64_t max_bytes, int max_files,
                                   std::int64_t period_s)
    : file_(std::move(file)),
      max_bytes_(std::max<std::uint64_t>(max_bytes, 4096)),
      max_files_(max_files),
      period_s_(period_s) {
  auto now = std::chrono::system_clock::now();
  opened_ = now;
  period_ = period_s_ > 0 ? seconds_of(now) / period_s_ : 0;
  out_.open(file_.string(), false);  // append: a restart goes on with the same file
  size_ = out_.size();
  if (size_ >= max_bytes_) rotate(now);
}

void capped_file_sink::sink_it_(const spdlog::details::log_msg& msg) {
  auto now = msg.time;
  if (size_ > 0 &&
      ((period_s_ > 0 && seconds_of(now) / period_s_ != period_) || size_ >= max_bytes_))
    rotate(now);
  spdlog::memory_buf_t line;
  formatter_->format(msg, line);
  out_.write(line);
  size_ += line.size();
}

void capped_file_sink::flush_() {
  out_.flush();
}

void capped_file_sink::rotate(std::chrono::system_clock::time_point now) {
  out_.close();
  // dmq-run.log -> dmq-run.20261204-210000.log, named by when the file was started.
  auto stem = file_.stem().string();
  auto stamp =
      fmt::format("{:%Y%m%d-%H%M%S}", fmt::gmtime(std::chrono::system_clock::to_time_t(opened_)));
  auto name = [&](int n) {  // n > 0: the n-th rotation within that second
    auto s = stem;
    s.append(".").append(stamp);
    if (n > 0) s.append("-").append(std::to_string(n));
    return file_.parent_path() / s.append(file_.extension().string());
  };
  auto to = name(0);
  for (int n = 1; fs::exists(to); ++n) to = name(n);
  std::error_code ec;
  fs::rename(file_, to, ec);
  out_.open(file_.string(), true);
  size_ = 0;
  opened_ = now;
  period_ = period_s_ > 0 ? seconds_of(now) / period_s_ : 0;
  prune();
}

void capped_file_sink::prune() {
  if (max_files_ <= 0) return;
  auto stem = file_.stem().string() + ".", ext = file_.extension().string();
  std::vector<fs::path> rotated;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(file_.parent_path(), ec)) {
    auto name = e.path().filename().string();
    if (name.size() > stem.size() + ext.size() && name.starts_with(stem) && name.ends_with(ext) &&
        e.path() != file_)
      rotated.push_back(e.path());
  }
  std::sort(rotated.begin(), rotated.end());  // the stamps sort by age
  for (std::size_t i = 0; i + static_cast<std::size_t>(max_files_) < rotated.size(); ++i)
    fs::remove(rotated[i], ec);
}

std::string rate_limit_sink::kind(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] >= '0' && text[i] <= '9') {
      while (i + 1 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '9') ++i;
      out += '#';
    } else {
      out += text[i];
    }
  }
  return out;
}

void rate_limit_sink::report(const std::string& kind, seen& s) {
  if (s.left_out == 0) return;
  auto text = fmt::format("{} more lines like this one were left out in {} s: {}", s.left_out,
                          window_.count(), kind);
  spdlog::details::log_msg note(spdlog::source_loc{}, "dmq", s.level, text);
  for (auto& sink : sinks_)
    if (sink->should_log(note.level)) sink->log(note);
  s.left_out = 0;
}

void rate_limit_sink::sink_it_(const spdlog::details::log_msg& msg) {
  auto now = msg.time;
  // Forget the kinds whose window has passed (saying what they left out), so the map holds
  // only what was logged within the last window.
  for (auto it = kinds_.begin(); it != kinds_.end();) {
    if (now - it->second.since >= window_) {
      report(it->first, it->second);
      it = kinds_.erase(it);
    } else {
      ++it;
    }
  }
  // Warnings and errors only: info lines (deliveries done, when asked for) are wanted whole.
  if (msg.level >= spdlog::level::warn && msg.level < spdlog::level::critical) {
    auto k = kind(std::string_view(msg.payload.data(), msg.payload.size()));
    auto [it, fresh] = kinds_.try_emplace(k, seen{now, 0, 0, msg.level});
    auto& s = it->second;
    if (++s.passed > burst_) {
      ++s.left_out;
      s.level = std::max(s.level, msg.level);
      return;
    }
  }
  spdlog::sinks::dist_sink<std::mutex>::sink_it_(msg);
}

}  // namespace dmq::app
