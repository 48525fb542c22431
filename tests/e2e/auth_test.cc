// auth_test: who may call what (docs/security.md), end to end: the dmq binary (`dmq run`)
// on a real redis-server, callers over real loopback HTTP told apart by their bearer token
// and by the loopback address they connect from. See auth_fixture.h for the projects.
#include <cstdio>

#include "auth_fixture.h"

namespace dmq::e2e {
namespace {

const std::string needle = "needle-7f3a9c";  // in the params of the messages callers hunt for

// ---- sending: /single and /batch ----

TEST_F(auth_test, single_without_the_projects_token_is_refused_and_stores_nothing) {
  struct attempt {
    caller who;
    std::string why;
  };
  const attempt attempts[] = {
      {loopback, "project: 'pa' needs a bearer token (Authorization: Bearer TOKEN)"},
      {stranger, "project: 'pa' needs a bearer token (Authorization: Bearer TOKEN)"},
      {wrong_token, "project: 'pa' does not accept this bearer token"},
      {owner_b, "project: 'pa' does not accept this bearer token"},
      {admin, "project: 'pa' does not accept this bearer token"},  // admin manages, not sends
  };
  for (const auto& a : attempts) {
    auto r = post(a.who, "/api/message/single", message("a", "{}"));
    EXPECT_EQ(r.status, 200) << r.body;  // as the seed answers a refused producer
    EXPECT_EQ(r.code(), 103) << a.who.token << " " << r.body;
    EXPECT_EQ(r.data(), json::value(a.why)) << r.body;
  }
  EXPECT_EQ(message_count(), 0u);
}

TEST_F(auth_test, batch_without_the_projects_token_is_refused_and_stores_nothing) {
  json::array batch{message("a", "{}"), message("b", "{}"), message("a", "{}")};
  for (const auto& who : {loopback, stranger, wrong_token, admin}) {
    auto r = post(who, "/api/message/batch", batch);
    ASSERT_EQ(r.code(), 0) << r.body;  // the batch answers per message
    auto d = r.data().as_array();
    ASSERT_EQ(d.size(), 3u) << r.body;
    for (const auto& item : d) EXPECT_TRUE(item.is_string()) << r.body;
  }
  // B's token: its own message saved, A's refused.
  auto r = post(owner_b, "/api/message/batch", batch);
  ASSERT_EQ(r.code(), 0) << r.body;
  auto d = r.data().as_array();
  EXPECT_EQ(d[0], json::value("project: 'pa' does not accept this bearer token")) << r.body;
  EXPECT_TRUE(d[1].is_int64()) << r.body;
  EXPECT_EQ(d[2], json::value("project: 'pa' does not accept this bearer token")) << r.body;
  EXPECT_EQ(message_count(), 1u);
}

TEST_F(auth_test, tokens_given_as_env_and_as_file_are_accepted) {
  auto a = send(owner_a, message("a", R"({"from":"env"})"));   // pa: env:DMQ_E2E_TOKEN_A
  auto b = send(owner_b, message("b", R"({"from":"file"})"));  // pb: file:pb.token
  ASSERT_NE(a, 0u);
  ASSERT_NE(b, 0u);
  EXPECT_EQ(params_in_redis(a, "a"), R"({"from":"env"})");
  EXPECT_EQ(params_in_redis(b, "b"), R"({"from":"file"})");
  // The token is the project's credential from any address (pa has no allow_ip).
  EXPECT_NE(send({"127.0.0.77", token_a}, message("a", "{}")), 0u);
  auto r = post(owner_a, "/api/message/batch", json::array{message("a", "{}"), message("a", "{}")});
  ASSERT_EQ(r.code(), 0) << r.body;
  auto ids = r.data().as_array();
  for (const auto& v : ids) EXPECT_TRUE(v.is_int64()) << r.body;
  // The bearer scheme is case-insensitive.
  auto lower = test::call(port, "POST", "/api/message/single", text(message("a", "{}")),
                          {{"authorization", std::string("bearer ") + token_a}});
  EXPECT_EQ(lower.code(), 0) << lower.body;
  EXPECT_EQ(message_count(), 6u);
}

TEST_F(auth_test, tokens_and_allow_ip_together_need_both) {
  auto r = post({"127.0.0.1", token_d}, "/api/message/single", message("d", "{}"));
  EXPECT_EQ(r.code(), 103) << r.body;
  EXPECT_EQ(r.data(), json::value("project: 'pd' does not allow callers from 127.0.0.1"));
  r = post({"127.0.0.5", ""}, "/api/message/single", message("d", "{}"));
  EXPECT_EQ(r.code(), 103) << r.body;
  r = post({"127.0.0.5", token_a}, "/api/message/single", message("d", "{}"));
  EXPECT_EQ(r.code(), 103) << r.body;
  EXPECT_EQ(message_count(), 0u);
  auto id = send({"127.0.0.5", token_d}, message("d", R"({"both":true})"));
  EXPECT_EQ(params_in_redis(id, "d"), R"({"both":true})");
}

TEST_F(auth_test, a_project_without_tokens_keeps_the_seeds_allow_ip_rule) {
  auto id = send(loopback, message("c", "{}"));  // pc: allow_ip [127.0.0.1], no token needed
  EXPECT_NE(id, 0u);
  auto r = post(stranger, "/api/message/single", message("c", "{}"));
  EXPECT_EQ(r.code(), 103) << r.body;
  EXPECT_EQ(r.data(), json::value("project: 'pc' does not allow callers from 127.0.0.2"));
  EXPECT_EQ(message_count(), 1u);
}

// ---- managing: status, detail, pending, solved, retry, cancel ----

TEST_F(auth_test, status_and_detail_answer_the_owner_and_admin_only) {
  auto id = send(owner_a, message("a", R"({"n":")" + needle + R"("})", 60000));
  for (const auto& who : {owner_a, admin}) {
    auto s = status(who, id, "ca");
    EXPECT_EQ(s.code(), 0) << s.body;
    EXPECT_EQ(s.data(), json::value("waiting")) << s.body;
    auto d = detail(who, id, "ca");
    EXPECT_EQ(d.code(), 0) << d.body;
    EXPECT_NE(d.body.find(needle), std::string::npos) << d.body;
  }
  for (const auto& who : {owner_b, wrong_token, loopback, stranger, caller{"127.0.0.5", token_d}}) {
    auto s = status(who, id, "ca");
    EXPECT_REFUSED_403(s);
    EXPECT_EQ(s.body.find("waiting"), std::string::npos) << s.body;
    auto d = detail(who, id, "ca");
    EXPECT_REFUSED_403(d);
    EXPECT_EQ(d.body.find(needle), std::string::npos) << d.body;
  }
  // A caller of some project is told which project it may not manage; the same answer
  // whether the message exists or not.
  auto known = detail(owner_b, id, "ca");
  auto unknown = detail(owner_b, id + 1000000, "ca");
  EXPECT_EQ(known.body, unknown.body);
  EXPECT_NE(known.body.find("'pa'"), std::string::npos) << known.body;
}

TEST_F(auth_test, pending_solved_and_retry_answer_the_owner_and_admin_only) {
  endpoint.when_path("/ca/", test::answer::with_status(500).first(1));  // each fails once
  auto m1 = send(owner_a, message("a", R"({"m":1})"));
  auto m2 = send(owner_a, message("a", R"({"m":2})"));
  auto m3 = send(owner_a, message("a", R"({"m":3})"));
  for (auto id : {m1, m2, m3})
    ASSERT_TRUE(test::wait_until([&] { return status_in_redis(id, "a", "ca") == "failure"; }, 10s))
        << id;
  for (auto id : {m1, m2, m3}) ASSERT_TRUE(in_pending(id, "a", "ca"));

  for (const auto& who : {owner_b, wrong_token, loopback, stranger}) {
    auto p = pending(who, "ca");
    EXPECT_REFUSED_403(p);
    EXPECT_EQ(p.body.find(std::to_string(m1)), std::string::npos) << p.body;
    EXPECT_REFUSED_403(retry(who, "ca", m1));
    EXPECT_REFUSED_403(solved(who, "ca", m2));
  }
  // Untouched: still failed, still pending, delivered once each.
  for (auto id : {m1, m2, m3}) {
    EXPECT_EQ(status_in_redis(id, "a", "ca"), "failure");
    EXPECT_TRUE(in_pending(id, "a", "ca"));
  }
  EXPECT_EQ(endpoint.for_id(m1, "/ca/").size(), 1u);

  for (const auto& who : {owner_a, admin}) {
    auto p = pending(who, "ca");
    EXPECT_EQ(p.code(), 0) << p.body;
    EXPECT_NE(p.body.find(std::to_string(m3)), std::string::npos) << p.body;
  }
  auto r = retry(owner_a, "ca", m1);
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(r.data().at(std::to_string(m1)), json::value(true)) << r.body;
  auto s = solved(owner_a, "ca", m2);
  ASSERT_EQ(s.code(), 0) << s.body;
  EXPECT_EQ(s.data().at(std::to_string(m2)), json::value(true)) << s.body;
  auto a = retry(admin, "ca", m3);
  ASSERT_EQ(a.code(), 0) << a.body;
  EXPECT_EQ(a.data().at(std::to_string(m3)), json::value(true)) << a.body;

  EXPECT_TRUE(test::wait_until([&] { return status_in_redis(m1, "a", "ca") == "done"; }, 10s));
  EXPECT_TRUE(test::wait_until([&] { return status_in_redis(m3, "a", "ca") == "done"; }, 10s));
  EXPECT_EQ(status_in_redis(m2, "a", "ca"), "done");
  EXPECT_EQ(endpoint.for_id(m1, "/ca/").size(), 2u);
  EXPECT_EQ(endpoint.for_id(m2, "/ca/").size(), 1u);  // solved, not delivered again
  for (auto id : {m1, m2, m3}) EXPECT_FALSE(in_pending(id, "a", "ca"));
}

TEST_F(auth_test, cancel_answers_the_owner_and_admin_only) {
  auto id = send(owner_a, message("a", "{}", 60000));
  auto other = send(owner_a, message("a", "{}", 60000));

  EXPECT_REFUSED_403(cancel(owner_b, id, "pa"));
  EXPECT_REFUSED_403(cancel(loopback, id, "pa"));
  EXPECT_REFUSED_403(cancel(stranger, id, "pa"));
  EXPECT_REFUSED_403(cancel(stranger, id));
  EXPECT_REFUSED_403(cancel({"127.0.0.2", token_wrong}, id));
  // Without "project", B's cancel looks only in pb: not found there, A's message untouched.
  auto r = cancel(owner_b, id);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.code(), 114) << r.body;
  r = cancel(loopback, id);  // pc's caller: looks only in pc
  EXPECT_EQ(r.code(), 114) << r.body;
  EXPECT_EQ(status_in_redis(id, "a", "ca"), "waiting");
  EXPECT_FALSE(redis.cmd({"ZSCORE", "dmq:{pa}:q:ca", std::to_string(id)}).is_nil());

  r = cancel(owner_a, id);
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(r.data(), json::value(true));
  EXPECT_EQ(status_in_redis(id, "a", "ca"), "cancelled");
  auto by_admin = cancel(admin, other, "pa");
  ASSERT_EQ(by_admin.code(), 0) << by_admin.body;
  EXPECT_EQ(status_in_redis(other, "a", "ca"), "cancelled");
}

TEST_F(auth_test, admin_cancels_without_naming_the_project) {
  auto id = send({"127.0.0.5", token_d}, message("d", "{}", 60000));
  auto r = cancel(admin, id);
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(status_in_redis(id, "d", "cd"), "cancelled");
}

TEST_F(auth_test, a_caller_with_no_credential_is_refused_everywhere) {
  auto id = send(loopback, message("c", "{}", 60000));  // pc's, which stranger may not touch
  const std::string nothing = "may manage no project";
  for (const auto& who : {stranger, caller{"127.0.0.2", token_wrong}}) {
    std::vector<http_reply> answers{
        status(who, id, "cc"), detail(who, id, "cc"),   pending(who, "cc"),
        solved(who, "cc", id), retry(who, "cc", id),    cancel(who, id),
        cancel(who, id, "pc"), status(who, id, "nope"),
    };
    for (const auto& r : answers) {
      EXPECT_REFUSED_403(r);
      EXPECT_NE(r.body.find(nothing), std::string::npos) << r.body;
    }
  }
  EXPECT_EQ(status_in_redis(id, "c", "cc"), "waiting");
  EXPECT_EQ(status(loopback, id, "cc").code(), 0);  // its owner still manages it
}

// The issue's scan: ids are guessable from their creation time. A caller of another
// project (or none) asks /detail for 3,000 ids around A's message, naming A's consumer:
// every answer is the same refusal, none carries A's params.
TEST_F(auth_test, guessing_ids_around_a_message_finds_nothing) {
  auto id = send(owner_a, message("a", R"({"n":")" + needle + R"("})", 60000));
  ASSERT_NE(id, 0u);
  for (const auto& who : {owner_b, stranger}) {
    test::http_client c(port, who.source);  // one keep-alive connection per scanner
    test::header_list h;
    if (!who.token.empty()) h.emplace_back("Authorization", "Bearer " + who.token);
    int refused = 0;
    std::string first_body;
    for (std::uint64_t guess = id - 1500; guess < id + 1500; ++guess) {
      auto r = c.request("GET", "/api/message/detail" + q(guess, "ca"), "", h);
      ASSERT_EQ(r.body.find(needle), std::string::npos) << "id " << guess << ": " << r.body;
      if (first_body.empty()) first_body = r.body;
      refused += r.status == 403 && r.code() == 103 && r.body == first_body;
    }
    EXPECT_EQ(refused, 3000) << who.source << " " << who.token;
  }
  // The message was there to find: its owner reads it.
  EXPECT_NE(detail(owner_a, id, "ca").body.find(needle), std::string::npos);
}

// ---- /metrics and /healthz ----

TEST_F(auth_test, metrics_from_loopback_by_default_and_healthz_open_to_all) {
  auto m = call(loopback, "GET", "/metrics");
  EXPECT_EQ(m.status, 200) << m.body;
  EXPECT_NE(m.body.find("dmq_"), std::string::npos);
  auto other = call(stranger, "GET", "/metrics");  // 127.0.0.2: not 127.0.0.1 or ::1
  EXPECT_REFUSED_403(other);
  EXPECT_EQ(other.body.find("dmq_"), std::string::npos);
  EXPECT_REFUSED_403(call({"127.0.0.2", token_a}, "GET", "/metrics"));  // a project's token
  EXPECT_EQ(call({"127.0.0.2", token_admin}, "GET", "/metrics").status, 200);
  for (const auto& who : {stranger, loopback, wrong_token}) {
    auto h = call(who, "GET", "/healthz");
    EXPECT_EQ(h.status, 200) << h.body;
  }
}

struct metrics_elsewhere_test : auth_test {
  std::string extra_yaml() const override {
    return "metrics:\n  allow_ip: [127.0.0.9]\n  tokens: [\"" + sha256_line(metrics_token) +
           "\"]\n";
  }
  static constexpr const char* metrics_token = "tok-METRICS-5566778899aabbcc";
};

TEST_F(metrics_elsewhere_test, metrics_only_for_its_list_its_tokens_and_admin) {
  EXPECT_REFUSED_403(call(loopback, "GET", "/metrics"));  // the list replaced the default
  EXPECT_REFUSED_403(call(owner_a, "GET", "/metrics"));
  EXPECT_REFUSED_403(call({"127.0.0.1", token_wrong}, "GET", "/metrics"));
  EXPECT_EQ(call({"127.0.0.9", ""}, "GET", "/metrics").status, 200);
  EXPECT_EQ(call({"127.0.0.1", metrics_token}, "GET", "/metrics").status, 200);
  EXPECT_EQ(call({"127.0.0.2", token_admin}, "GET", "/metrics").status, 200);
  EXPECT_EQ(call(stranger, "GET", "/healthz").status, 200);
  // The metrics token is not an admin credential.
  auto id = send(owner_a, message("a", "{}", 60000));
  EXPECT_REFUSED_403(status({"127.0.0.1", metrics_token}, id, "ca"));
}

// ---- dmq token ----

// run_token runs `dmq token` and returns its output.
std::string run_token() {
  std::string out;
  FILE* p = ::popen((std::string("timeout 20 ") + DMQ_BINARY + " token").c_str(), "r");
  if (!p) return out;
  char buf[1024];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  EXPECT_EQ(::pclose(p), 0) << out;
  return out;
}

TEST(dmq_token, prints_a_new_token_and_the_sha256_line_that_names_it) {
  auto first = run_token();
  auto second = run_token();
  for (const auto& out : {first, second}) {
    auto t = out.find("token:  ");
    auto c = out.find("config: sha256:");
    ASSERT_NE(t, std::string::npos) << out;
    ASSERT_NE(c, std::string::npos) << out;
    auto token = out.substr(t + 8, out.find('\n', t) - t - 8);
    auto line = out.substr(c + 8, out.find('\n', c) - c - 8);
    EXPECT_GE(token.size(), 32u) << token;
    EXPECT_EQ(line, sha256_line(token)) << out;
  }
  EXPECT_NE(first, second);
}

// ---- the start's warnings, as dmq check prints them ----

// check_config runs `dmq check dir` and returns its output (stdout and stderr).
std::string check_config(const std::string& dir) {
  std::string out;
  FILE* p =
      ::popen((std::string("timeout 20 ") + DMQ_BINARY + " check " + dir + " 2>&1").c_str(), "r");
  if (!p) return out;
  char buf[1024];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  EXPECT_EQ(::pclose(p), 0) << out;
  return out;
}

TEST(dmq_check, warns_about_an_api_beyond_loopback_that_relies_on_addresses) {
  auto dir = test::make_config_dir(6379, 8989);  // the seed's projects, on loopback
  auto quiet = check_config(dir);
  EXPECT_EQ(quiet.find("security"), std::string::npos) << quiet;
  {
    std::ifstream in(dir + "/config.yaml");
    std::stringstream ss;
    ss << in.rdbuf();
    auto yaml = ss.str();
    ASSERT_TRUE(replace_once(yaml, "  listen: 127.0.0.1\n", "  listen: 0.0.0.0\n"));
    std::ofstream(dir + "/config.yaml", std::ios::trunc) << yaml;
  }
  auto loud = check_config(dir);
  EXPECT_NE(loud.find("warning: security: the API listens on 0.0.0.0 (beyond loopback) and "
                      "project 'svs' relies on addresses alone"),
            std::string::npos)
      << loud;
  EXPECT_NE(loud.find("project 'sds' relies on addresses alone"), std::string::npos) << loud;
  test::remove_config_dir(dir);
}

// ---- secrets stay out of the log ----

TEST_F(auth_test, no_token_reaches_the_log) {
  // Every path a token takes: accepted, refused, wrong, admin; sending and managing.
  auto id = send(owner_a, message("a", "{}", 60000));
  send(owner_b, message("b", "{}"));
  send({"127.0.0.5", token_d}, message("d", "{}"));
  post(owner_b, "/api/message/single", message("a", "{}"));
  post(wrong_token, "/api/message/batch", json::array{message("a", "{}")});
  status(owner_b, id, "ca");
  detail(wrong_token, id, "ca");
  detail(admin, id, "ca");
  cancel(owner_b, id);
  call(wrong_token, "GET", "/metrics");
  call({"127.0.0.2", token_admin}, "GET", "/metrics");
  test::call(port, "GET", "/api/message/detail" + q(id, "ca"), "",
             {{"Authorization", std::string("Bearer ") + token_a},
              {"Authorization", std::string("Bearer ") + token_b}});
  cancel(owner_a, id);
  ASSERT_EQ(dmq->stop(), 0);  // flushes its log
  auto log = dmq->log();
  ASSERT_NE(log.find("listening"), std::string::npos) << log;
  for (const auto* t : {token_a, token_b, token_d, token_admin, token_wrong})
    EXPECT_EQ(log.find(t), std::string::npos) << t << " is in the log:\n" << log;
  dmq.reset();
}

}  // namespace
}  // namespace dmq::e2e
