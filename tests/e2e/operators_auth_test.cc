// operators_auth_test: the operators' endpoints (issue 14) answer only callers who may
// manage the project concerned (docs/security.md): another project's owner and a stranger
// get 403 code 103 before Redis is asked, stats and jobs list only what the caller may
// manage, and an admin sees everything.
#include "auth_fixture.h"

namespace dmq::e2e {
namespace {

using operators_auth_test = auth_test;

TEST_F(operators_auth_test, another_projects_owner_and_a_stranger_are_refused) {
  auto id = send(owner_a, message("a", "{}", 3600 * 1000));
  auto ids = std::to_string(id);
  struct call_case {
    std::string method, target;
    json::object body;
  };
  std::vector<call_case> calls = {
      {"GET", "/api/message/attempts?consumer=ca&msg_id=" + ids, {}},
      {"GET", "/api/message/find?project=pa&request_id=x", {}},
      {"GET", "/api/message/scheduled?consumer=ca", {}},
      {"GET", "/api/message/failed?consumer=ca", {}},
      {"GET", "/api/stats?project=pa", {}},
      {"POST", "/api/message/reschedule", {{"msg_id", id}, {"project", "pa"}, {"delay_ms", 5}}},
      {"POST", "/api/consumer/pause", {{"consumer", "ca"}}},
      {"POST", "/api/consumer/resume", {{"consumer", "ca"}}},
      {"POST", "/api/jobs", {{"kind", "replay"}, {"consumer", "ca"}}},
      {"GET", "/api/events?consumer=ca", {}},
  };
  for (const auto* who : {&owner_b, &stranger}) {
    for (const auto& c : calls) {
      auto r = call(*who, c.method, c.target, c.method == "POST" ? text(c.body) : "");
      EXPECT_EQ(r.status, 403) << c.target << " " << r.body;
      EXPECT_EQ(r.code(), 103) << c.target << " " << r.body;
    }
  }
  // Nothing was changed: not paused, not moved.
  EXPECT_EQ(redis.cmd({"EXISTS", "dmq:{pa}:paused"}).integer, 0);
  EXPECT_EQ(status_in_redis(id, "a", "ca"), "waiting");
  // Its owner and the admin may.
  for (const auto* who : {&owner_a, &admin}) {
    auto r = call(*who, "GET", "/api/message/scheduled?consumer=ca");
    EXPECT_EQ(r.code(), 0) << r.body;
    EXPECT_EQ(r.data().at("count"), 1) << r.body;
  }
}

TEST_F(operators_auth_test, stats_and_jobs_show_only_what_the_caller_may_manage) {
  auto names = [](const http_reply& r) {
    std::set<std::string> out;
    auto d = r.data();
    for (const auto& p : d.at("projects").as_array()) out.emplace(p.at("project").as_string());
    return out;
  };
  // owner_a calls from 127.0.0.1, which pc's allow_ip lets manage pc too.
  EXPECT_EQ(names(call(owner_a, "GET", "/api/stats")), (std::set<std::string>{"pa", "pc"}));
  EXPECT_EQ(names(call(owner_a, "GET", "/api/stats?project=pa")), (std::set<std::string>{"pa"}));
  EXPECT_EQ(names(call(admin, "GET", "/api/stats")),
            (std::set<std::string>{"pa", "pb", "pc", "pd"}));
  auto job = post(owner_a, "/api/jobs", json::object{{"kind", "solve"}, {"consumer", "ca"}});
  ASSERT_EQ(job.code(), 0) << job.body;
  std::string jid(job.data().at("job_id").as_string());
  // Another project's owner neither reads, lists nor cancels it: to them it does not exist.
  EXPECT_EQ(call(owner_b, "GET", "/api/jobs?id=" + jid).code(), 114);
  EXPECT_EQ(post(owner_b, "/api/jobs/cancel", json::object{{"job_id", jid}}).code(), 114);
  EXPECT_TRUE(call(owner_b, "GET", "/api/jobs").data().at("jobs").as_array().empty());
  EXPECT_EQ(call(owner_a, "GET", "/api/jobs?id=" + jid).code(), 0);
  EXPECT_EQ(call(admin, "GET", "/api/jobs").data().at("jobs").as_array().size(), 1u);
}

}  // namespace
}  // namespace dmq::e2e
