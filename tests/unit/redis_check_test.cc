// redis_check_test: what dmq makes of a Redis's settings (storage/redis_check.h): which
// refuse a start, which warn, and how the facts are read from CONFIG GET or, where CONFIG is
// renamed or disabled (managed Redis), from INFO. The checks against a real Redis are in
// tests/e2e/redis_settings_test.cc.
#include "storage/redis_check.h"

#include <gtest/gtest.h>

namespace {

using dmq::redis::reply;
using dmq::storage::facts_from;
using dmq::storage::finding;
using dmq::storage::judge;
using dmq::storage::redis_facts;

redis_facts facts(std::string policy, std::string version = "7.0.15",
                  std::string appendonly = "yes", std::string appendfsync = "everysec") {
  return {std::move(version), std::move(policy), std::move(appendonly), std::move(appendfsync),
          "CONFIG"};
}

TEST(redis_check, noeviction_on_7_with_an_fsynced_aof_is_ok) {
  auto v = judge(facts("noeviction"), false);
  EXPECT_TRUE(v.findings.empty());
  EXPECT_FALSE(v.refused());
  EXPECT_EQ(v.status(), "ok");
}

TEST(redis_check, every_evicting_policy_is_refused_naming_the_setting_and_the_fix) {
  // volatile-* too: every record of dmq's carries a TTL, so all of them can be evicted.
  for (auto p : {"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru",
                 "allkeys-lfu", "allkeys-random"}) {
    auto v = judge(facts(p), false);
    EXPECT_TRUE(v.refused()) << p;
    EXPECT_EQ(v.status(), "refused");
    ASSERT_EQ(v.findings.size(), 1u) << p;
    EXPECT_EQ(v.findings[0].setting, "maxmemory-policy");
    EXPECT_NE(v.refusal_text().find(std::string("maxmemory-policy is ") + p), std::string::npos);
    EXPECT_NE(v.refusal_text().find("CONFIG SET maxmemory-policy noeviction"), std::string::npos);
    EXPECT_NE(v.refusal_text().find("redis.allow_eviction: true"), std::string::npos);
  }
}

TEST(redis_check, allow_eviction_turns_the_refusal_into_a_warning) {
  auto v = judge(facts("allkeys-lru"), true);
  EXPECT_FALSE(v.refused());
  EXPECT_EQ(v.status(), "warning");
  ASSERT_EQ(v.findings.size(), 1u);
  EXPECT_EQ(v.findings[0].severity, finding::level::warning);
  EXPECT_NE(v.findings[0].text.find("redis.allow_eviction is true"), std::string::npos);
}

TEST(redis_check, a_redis_older_than_7_is_refused) {
  EXPECT_TRUE(judge(facts("noeviction", "6.2.14"), false).refused());
  EXPECT_TRUE(judge(facts("noeviction", "5.0.7"), false).refused());
  EXPECT_FALSE(judge(facts("noeviction", "7.0.0"), false).refused());
  EXPECT_FALSE(judge(facts("noeviction", "7.2.4"), false).refused());
  EXPECT_FALSE(judge(facts("noeviction", "10.0.1"), false).refused());
  auto old = judge(facts("noeviction", "6.2.14"), false);
  EXPECT_NE(old.refusal_text().find("older than 7.0"), std::string::npos);
}

TEST(redis_check, no_aof_or_no_fsync_warns_naming_the_risk) {
  auto off = judge(facts("noeviction", "7.0.15", "no"), false);
  EXPECT_FALSE(off.refused());
  ASSERT_EQ(off.findings.size(), 1u);
  EXPECT_EQ(off.findings[0].setting, "appendonly");
  EXPECT_NE(off.findings[0].text.find("loses"), std::string::npos);
  auto lazy = judge(facts("noeviction", "7.0.15", "yes", "no"), false);
  ASSERT_EQ(lazy.findings.size(), 1u);
  EXPECT_EQ(lazy.findings[0].setting, "appendfsync");
  EXPECT_TRUE(judge(facts("noeviction", "7.0.15", "yes", "always"), false).findings.empty());
}

TEST(redis_check, unknown_settings_warn_but_do_not_refuse) {
  auto v = judge(redis_facts{}, false);  // everything "unknown"
  EXPECT_FALSE(v.refused());
  EXPECT_EQ(v.status(), "warning");
  EXPECT_EQ(v.findings.size(), 2u);  // the policy and the version; appendonly unknown says nothing
}

// Replies as Redis sends them to fact_queries(): INFO server, memory, persistence, then
// CONFIG GET maxmemory-policy, appendonly, appendfsync.
reply info(std::string text) {
  return {reply::kind::string, 0, std::move(text), {}};
}
reply config_pair(std::string name, std::string value) {
  return {reply::kind::array,
          0,
          "",
          {{reply::kind::string, 0, std::move(name), {}},
           {reply::kind::string, 0, std::move(value), {}}}};
}
reply error(std::string text) {
  return {reply::kind::error, 0, std::move(text), {}};
}

TEST(redis_check, facts_come_from_config_get_when_it_answers) {
  auto f = facts_from({info("# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n"),
                       info("# Memory\r\nmaxmemory_policy:allkeys-lru\r\n"),
                       info("# Persistence\r\naof_enabled:0\r\n"),
                       config_pair("maxmemory-policy", "volatile-lru"),
                       config_pair("appendonly", "yes"), config_pair("appendfsync", "always")});
  EXPECT_EQ(f.version, "7.0.15");
  EXPECT_EQ(f.maxmemory_policy, "volatile-lru");
  EXPECT_EQ(f.source, "CONFIG");
  EXPECT_EQ(f.appendonly, "yes");
  EXPECT_EQ(f.appendfsync, "always");
}

TEST(redis_check, without_config_the_facts_come_from_info) {
  auto renamed = error("ERR unknown command 'CONFIG', with args beginning with: 'GET' ");
  auto f = facts_from({info("# Server\r\nredis_version:7.2.4\r\n"),
                       info("# Memory\r\nused_memory:1\r\nmaxmemory_policy:volatile-ttl\r\n"),
                       info("# Persistence\r\nloading:0\r\naof_enabled:1\r\n"), renamed, renamed,
                       renamed});
  EXPECT_EQ(f.version, "7.2.4");
  EXPECT_EQ(f.maxmemory_policy, "volatile-ttl");
  EXPECT_EQ(f.source, "INFO");
  EXPECT_EQ(f.appendonly, "yes");
  EXPECT_EQ(f.appendfsync, "unknown");  // INFO does not carry it
  EXPECT_TRUE(judge(f, false).refused());
}

TEST(redis_check, when_neither_answers_the_facts_are_unknown) {
  auto no = error("NOPERM this user has no permissions");
  auto f = facts_from({no, no, no, no, no, no});
  EXPECT_EQ(f.version, "unknown");
  EXPECT_EQ(f.maxmemory_policy, "unknown");
  EXPECT_EQ(f.appendonly, "unknown");
  EXPECT_EQ(f.appendfsync, "unknown");
  EXPECT_EQ(f.source, "none");
}

TEST(redis_check, to_json_shows_the_facts_and_findings) {
  auto j = judge(facts("volatile-lru"), false).to_json();
  EXPECT_EQ(j.at("status").as_string(), "refused");
  EXPECT_EQ(j.at("maxmemory_policy").as_string(), "volatile-lru");
  EXPECT_EQ(j.at("version").as_string(), "7.0.15");
  ASSERT_EQ(j.at("findings").as_array().size(), 1u);
  EXPECT_EQ(j.at("findings").as_array()[0].at("setting").as_string(), "maxmemory-policy");
  EXPECT_EQ(j.at("findings").as_array()[0].at("level").as_string(), "refusal");
}

}  // namespace
