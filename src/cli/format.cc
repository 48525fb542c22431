#include "cli/format.h"

#include <boost/json/serialize.hpp>
#include <charconv>
#include <ctime>

namespace dmq::cli {

std::string scalar(const boost::json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_null()) return "-";
  return boost::json::serialize(v);
}

std::string field(const boost::json::value& o, const char* name) {
  if (!o.is_object()) return "-";
  auto* v = o.get_object().if_contains(name);
  return v ? scalar(*v) : "-";
}

std::int64_t number(const boost::json::value& v, std::int64_t fallback) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) return static_cast<std::int64_t>(v.get_uint64());
  if (v.is_double()) return static_cast<std::int64_t>(v.get_double());
  if (v.is_string()) {
    std::int64_t n = 0;
    const auto& s = v.get_string();
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc() && p == s.data() + s.size()) return n;
  }
  return fallback;
}

std::int64_t int_field(const boost::json::value& o, const char* name, std::int64_t fallback) {
  if (!o.is_object()) return fallback;
  auto* v = o.get_object().if_contains(name);
  return v ? number(*v, fallback) : fallback;
}

std::string attempt_error(const boost::json::value& attempt) {
  auto err = field(attempt, "error");
  if (err == "-" || (err == "http" && int_field(attempt, "http_status") != 0)) return {};
  return err;
}

namespace {

std::string utc(std::int64_t s, const char* fmt) {
  auto t = static_cast<std::time_t>(s);
  std::tm tm{};
  if (!::gmtime_r(&t, &tm)) return std::to_string(s);
  char buf[64];
  auto n = std::strftime(buf, sizeof buf, fmt, &tm);
  return std::string(buf, n);
}

}  // namespace

std::string time_ms(std::int64_t ms) {
  if (ms <= 0) return "-";
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms % 1000));
  return utc(ms / 1000, "%Y-%m-%dT%H:%M:%S") + frac;
}

std::string time_s(std::int64_t s) {
  if (s <= 0) return "-";
  return utc(s, "%Y-%m-%dT%H:%M:%SZ");
}

std::string duration_ms(std::int64_t ms) {
  if (ms < 0) return "-" + duration_ms(-ms);
  if (ms < 1000) return std::to_string(ms) + "ms";
  char buf[32];
  if (ms < 60'000) {
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000);
    return buf;
  }
  auto s = ms / 1000;
  if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
    return buf;
  }
  if (s < 86400) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%lldd%lldh", static_cast<long long>(s / 86400),
                static_cast<long long>(s / 3600 % 24));
  return buf;
}

}  // namespace dmq::cli
