#include "storage/redis_check.h"

#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <charconv>
#include <string_view>

namespace asio = boost::asio;

namespace dmq::storage {

namespace {

// info_field returns the value of name in an INFO reply ("name:value" lines), or "".
std::string info_field(const redis::reply& r, std::string_view name) {
  if (r.is_error() || r.is_nil()) return "";
  std::string_view text = r.str;
  for (std::size_t at = 0; at < text.size();) {
    auto end = text.find('\n', at);
    auto line = text.substr(at, end == std::string_view::npos ? end : end - at);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.size() > name.size() && line.starts_with(name) && line[name.size()] == ':')
      return std::string(line.substr(name.size() + 1));
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  return "";
}

// config_value returns the value a CONFIG GET answered, or "" (refused, or no such setting).
std::string config_value(const redis::reply& r) {
  if (!r.is_array() || r.elements.size() != 2) return "";
  return r.elements[1].str;
}

// version_below_7 says whether a "major.minor.patch" version is older than 7.0.
bool version_below_7(const std::string& v) {
  int major = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), major);
  return ec == std::errc() && major < 7;
}

void add(redis_verdict& v, finding::level l, std::string setting, std::string text) {
  v.findings.push_back({l, std::move(setting), std::move(text)});
}

// judge_policy: evicting policies lose accepted messages; volatile-* ones too, since every
// record of dmq's carries a TTL.
void judge_policy(redis_verdict& v, bool allow_eviction) {
  const auto& p = v.facts.maxmemory_policy;
  if (p == "noeviction") return;
  if (p == "unknown")
    return add(v, finding::level::warning, "maxmemory-policy",
               "maxmemory-policy is unknown (CONFIG GET and INFO memory were refused): dmq cannot "
               "tell whether Redis may evict its keys; make sure it is noeviction");
  std::string risk = "maxmemory-policy is " + p +
                     ": Redis evicts keys when it reaches maxmemory, and messages accepted with "
                     "an id then vanish without a trace";
  if (allow_eviction)
    return add(v, finding::level::warning, "maxmemory-policy",
               risk + "; accepted because redis.allow_eviction is true");
  add(v, finding::level::refusal, "maxmemory-policy",
      risk +
          ". Fix: CONFIG SET maxmemory-policy noeviction (and maxmemory-policy noeviction in "
          "redis.conf), or accept the risk with redis.allow_eviction: true");
}

void judge_version(redis_verdict& v) {
  const auto& ver = v.facts.version;
  if (ver == "unknown")
    add(v, finding::level::warning, "version",
        "the Redis version is unknown (INFO server was refused); dmq needs 7.0 or later");
  else if (version_below_7(ver))
    add(v, finding::level::refusal, "version",
        "Redis " + ver + " is older than 7.0, which dmq's Lua scripts need; upgrade Redis");
}

// judge_persistence: without an AOF, or with one the OS flushes when it likes, a Redis crash
// loses messages already answered with an id.
void judge_persistence(redis_verdict& v) {
  const auto& f = v.facts;
  if (f.appendonly == "no")
    add(v, finding::level::warning, "appendonly",
        "appendonly is no: a Redis crash or restart loses every message accepted since its "
        "last RDB snapshot. Fix: CONFIG SET appendonly yes (and appendonly yes in redis.conf)");
  else if (f.appendonly == "yes" && f.appendfsync == "no")
    add(v, finding::level::warning, "appendfsync",
        "appendfsync is no: the OS decides when the AOF reaches the disk, so a machine crash "
        "loses the messages of the last ~30 s. Fix: CONFIG SET appendfsync everysec (at most "
        "~1 s lost) or always");
}

}  // namespace

bool redis_verdict::refused() const {
  for (const auto& f : findings)
    if (f.severity == finding::level::refusal) return true;
  return false;
}

std::string redis_verdict::status() const {
  return refused() ? "refused" : findings.empty() ? "ok" : "warning";
}

std::string redis_verdict::refusal_text() const {
  std::string out;
  for (const auto& f : findings)
    if (f.severity == finding::level::refusal) out += (out.empty() ? "" : "; ") + f.text;
  return out;
}

boost::json::object redis_verdict::to_json() const {
  boost::json::array list;
  for (const auto& f : findings)
    list.push_back(boost::json::object{
        {"level", f.severity == finding::level::refusal ? "refusal" : "warning"},
        {"setting", f.setting},
        {"text", f.text}});
  return {{"status", status()},
          {"version", facts.version},
          {"maxmemory_policy", facts.maxmemory_policy},
          {"appendonly", facts.appendonly},
          {"appendfsync", facts.appendfsync},
          {"source", facts.source},
          {"findings", std::move(list)}};
}

redis_verdict judge(const redis_facts& facts, bool allow_eviction) {
  redis_verdict v{facts, {}};
  judge_policy(v, allow_eviction);
  judge_version(v);
  judge_persistence(v);
  return v;
}

redis::command fact_queries() {
  redis::command cmd;
  cmd.push("INFO", "server").push("INFO", "memory").push("INFO", "persistence");
  cmd.push("CONFIG", "GET", "maxmemory-policy")
      .push("CONFIG", "GET", "appendonly")
      .push("CONFIG", "GET", "appendfsync");
  return cmd;
}

redis_facts facts_from(const redis::replies& r) {
  redis_facts f;
  if (r.size() != 6) return f;
  auto known = [](const std::string& v) { return v.empty() ? std::string("unknown") : v; };
  f.version = known(info_field(r[0], "redis_version"));
  if (auto p = config_value(r[3]); !p.empty()) {
    f.maxmemory_policy = p;
    f.source = "CONFIG";
  } else if (auto q = info_field(r[1], "maxmemory_policy"); !q.empty()) {
    f.maxmemory_policy = q;
    f.source = "INFO";
  }
  if (auto a = config_value(r[4]); !a.empty())
    f.appendonly = a;
  else if (auto e = info_field(r[2], "aof_enabled"); !e.empty())
    f.appendonly = e == "1" ? "yes" : "no";
  f.appendfsync = known(config_value(r[5]));  // INFO does not carry it
  return f;
}

asio::awaitable<std::pair<std::error_code, redis_verdict>> check_redis(redis::client& conn,
                                                                       bool allow_eviction) {
  auto cmd = fact_queries();
  auto [ec, r] = co_await conn.exec(cmd);
  if (ec) co_return std::pair{ec, redis_verdict{}};
  co_return std::pair{std::error_code{}, judge(facts_from(r), allow_eviction)};
}

}  // namespace dmq::storage
