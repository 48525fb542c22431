// cli_api_test: the `dmq` subcommands that talk to a running dmq over HTTP (send, status,
// detail, pending, retry, solved, cancel, ...), run as an operator runs them - the built
// binary, through the shell - against a real `dmq run`, a real Redis and a scripted
// consumer: what they print (tables, --json), where they find dmq and its token, and
// their exit codes (0 ok, 1 API error, 2 usage, 3 unreachable, 4 not allowed, 5 not found).
#include <sys/wait.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "auth_fixture.h"
#include "delivery_fixture.h"

namespace dmq::e2e {
namespace {

namespace fs = std::filesystem;

struct cli_result {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
  std::string all() const {
    return "exit " + std::to_string(exit_code) + "\nstdout:\n" + out + "stderr:\n" + err;
  }
};

// quoted returns s as one shell word.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// cli runs `dmq args...` (each one shell word) with only the environment variables env
// among DMQ_URL and DMQ_TOKEN, and returns its exit code, stdout and stderr.
cli_result cli(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  static int n = 0;
  auto err_path = fs::temp_directory_path() /
                  ("dmq-cli-api-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  std::string cmd = "timeout 30 env -u DMQ_URL -u DMQ_TOKEN";
  for (const auto& e : env) cmd += " " + quoted(e);
  cmd += std::string(" ") + DMQ_BINARY;
  for (const auto& a : args) cmd += " " + quoted(a);
  cmd += " 2>" + err_path.string();
  cli_result r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  for (std::size_t k; (k = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, k);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream in(err_path);
  std::stringstream ss;
  ss << in.rdbuf();
  r.err = ss.str();
  fs::remove(err_path);
  return r;
}

// field_text returns a JSON string's text, or a number as digits.
std::string field_text(const json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : json::serialize(v);
}

bool has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

// trimmed drops the final newline (of a one-line answer).
std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class cli_api_test : public delivery_test {
 protected:
  void configure() override {
    dgfa.retry_times = 0;  // one failed attempt ends in failure and the pending list
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }

  // run runs `dmq args... --url URL`.
  cli_result run(std::vector<std::string> args) const {
    args.push_back("--url");
    args.push_back(url());
    return cli(args);
  }

  // send_cli sends a message of sds:create:order through `dmq send` with more flags;
  // returns its id ("" and a failure if it printed none).
  std::string send_cli(const std::vector<std::string>& more = {}) const {
    std::vector<std::string> args{"send",     "--project", "sds", "--cmd", "sds:create:order",
                                  "--bucket", "b"};
    args.insert(args.end(), more.begin(), more.end());
    auto r = run(args);
    EXPECT_EQ(r.exit_code, 0) << r.all();
    auto id = trimmed(r.out);
    EXPECT_FALSE(id.empty()) << r.all();
    EXPECT_EQ(id.find_first_not_of("0123456789"), std::string::npos) << r.all();
    return id;
  }

  // stored reads a field of message id's record in Redis (fixture.h, record_field).
  std::string stored(const std::string& id, const std::string& field) const {
    return record_field(redis, "dmq:{sds}:m:" + id, field);
  }

  // cli_status is what `dmq status ID CONSUMER` prints.
  std::string cli_status(const std::string& id, const std::string& consumer) const {
    return trimmed(run({"status", id, consumer}).out);
  }
  bool wait_cli_status(const std::string& id, const std::string& consumer,
                       const std::string& want) const {
    return test::wait_until([&] { return cli_status(id, consumer) == want; }, 10s);
  }
};

TEST_F(cli_api_test, send_prints_the_id_and_status_follows_the_delivery_to_done) {
  auto params = fs::temp_directory_path() / ("dmq-cli-params-" + std::to_string(::getpid()));
  std::ofstream(params) << R"({"order_id":7})";
  auto id = send_cli({"--params", "@" + params.string(), "--request-id", "r-7"});
  fs::remove(params);
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(endpoint.wait_for_distinct("/dgfa", 1, 10s));
  auto got = endpoint.for_id(std::stoull(id), "/dgfa");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(has(got[0].body, R"({"order_id":7})")) << got[0].body;
  auto d = run({"detail", id, "dgfa", "--json"});
  ASSERT_EQ(d.exit_code, 0) << d.all();
  EXPECT_EQ(json::parse(d.out).at("request_id"), "r-7") << d.all();
  EXPECT_TRUE(wait_cli_status(id, "dgfa", "done")) << cli_status(id, "dgfa");
  // The consumer as a flag, and --json: the envelope's data, a JSON string.
  ASSERT_TRUE(wait_cli_status(id, "fghyds", "done")) << cli_status(id, "fghyds");
  auto j = run({"status", "-c", "fghyds", id, "--json"});
  EXPECT_EQ(j.exit_code, 0) << j.all();
  EXPECT_EQ(j.out, "\"done\"\n") << j.all();
}

TEST_F(cli_api_test, send_takes_a_delay_and_an_idempotency_key) {
  auto before = now_ms();
  auto id = send_cli({"--delay", "1h", "--idempotency-key", "k-1", "--params", "{}"});
  ASSERT_FALSE(id.empty());
  auto due = std::stoll(stored(id, "due"));
  EXPECT_GE(due, before + 3600 * 1000);
  EXPECT_LE(due, now_ms() + 3600 * 1000);
  // The same key again: not stored twice, the first id answered.
  EXPECT_EQ(send_cli({"--delay", "1h", "--idempotency-key", "k-1"}), id);
  auto at = now_s() + 7200;
  auto ts = send_cli({"--timestamp", std::to_string(at)});
  EXPECT_EQ(std::stoll(stored(ts, "due")), at * 1000);
}

TEST_F(cli_api_test, detail_prints_the_record_for_people_and_its_data_with_json) {
  auto id = send_cli({"--delay", "1h", "--request-id", "r-det", "--params", R"({"x":1})"});
  ASSERT_FALSE(id.empty());
  auto r = run({"detail", id, "dgfa"});
  ASSERT_EQ(r.exit_code, 0) << r.all();
  for (const auto& line : std::vector<std::string>{
           "id:          " + id, std::string("cmd:         sds:create:order"),
           std::string("request_id:  r-det"), std::string(R"(params:      {"x":1})"),
           std::string("bucket:      b")})
    EXPECT_TRUE(has(r.out, line + "\n")) << line << "\n" << r.all();
  auto j = run({"detail", id, "dgfa", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.all();
  // --json prints the envelope's data exactly: what the API answers, one line.
  auto api = test::call(port, "GET", "/api/message/detail?msg_id=" + id + "&consumer=dgfa");
  EXPECT_EQ(json::parse(j.out), api.data()) << j.out << "\n" << api.body;
  EXPECT_EQ(json::parse(j.out).at("request_id"), "r-det");
}

TEST_F(cli_api_test, cancel_settles_a_message_and_an_unknown_one_is_not_found_exit_5) {
  auto id = send_cli({"--delay", "1h"});
  ASSERT_FALSE(id.empty());
  auto r = run({"cancel", id});
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_EQ(r.out, "cancelled " + id + "\n");
  EXPECT_EQ(stored(id, "dgfa"), "cancelled");
  EXPECT_EQ(cli_status(id, "fghyds"), "cancelled");
  // Settled: cancelling again is an API error (126), exit 1.
  auto again = run({"cancel", id, "--project", "sds"});
  EXPECT_EQ(again.exit_code, 1) << again.all();
  EXPECT_TRUE(has(again.err, "cannot cancel")) << again.all();
  EXPECT_TRUE(has(again.err, "code 126")) << again.all();
  // No such message: exit 5, nothing on stdout.
  auto unknown = run({"cancel", "12345"});
  EXPECT_EQ(unknown.exit_code, 5) << unknown.all();
  EXPECT_TRUE(has(unknown.err, "not found")) << unknown.all();
  EXPECT_EQ(unknown.out, "");
}

TEST_F(cli_api_test, a_failed_delivery_is_pending_and_retry_delivers_it_again) {
  endpoint.when_path("/dgfa", answer::with_status(500));
  auto id = send_cli();
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(wait_cli_status(id, "dgfa", "failure")) << cli_status(id, "dgfa");
  auto p = run({"pending", "dgfa"});
  ASSERT_EQ(p.exit_code, 0) << p.all();
  EXPECT_TRUE(has(p.out, "MSG_ID")) << p.all();
  EXPECT_TRUE(has(p.out, "\n" + id + "  ")) << p.all();
  EXPECT_TRUE(has(p.out, "1 pending in all\n")) << p.all();
  auto pj = run({"pending", "-c", "dgfa", "--json"});
  ASSERT_EQ(pj.exit_code, 0) << pj.all();
  EXPECT_EQ(json::parse(pj.out).at("list").at(0).at("Member"), json::value(id)) << pj.out;

  endpoint.clear_rules();
  auto r = run({"retry", "-c", "dgfa", id});
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_TRUE(has(r.out, id + "  queued\n")) << r.all();
  EXPECT_TRUE(wait_cli_status(id, "dgfa", "done")) << cli_status(id, "dgfa");
  EXPECT_EQ(endpoint.for_id(std::stoull(id), "/dgfa").size(), 2u);
  // Retrying a delivered message does nothing, and says so.
  auto none = run({"retry", "-c", "dgfa", id, "--json"});
  ASSERT_EQ(none.exit_code, 0) << none.all();
  EXPECT_EQ(json::parse(none.out), json::parse("{\"" + id + "\":false}")) << none.all();
}

TEST_F(cli_api_test, solved_takes_a_failed_message_off_the_pending_list) {
  endpoint.when_path("/dgfa", answer::with_status(500));
  auto id = send_cli();
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(wait_cli_status(id, "dgfa", "failure")) << cli_status(id, "dgfa");
  auto r = run({"solved", "-c", "dgfa", id});
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_TRUE(has(r.out, id + "  solved\n")) << r.all();
  auto p = run({"pending", "dgfa"});
  EXPECT_FALSE(has(p.out, id)) << p.all();
  EXPECT_TRUE(has(p.out, "0 pending in all\n")) << p.all();
}

TEST_F(cli_api_test, url_comes_from_the_flag_the_environment_or_the_config_dir) {
  auto id = send_cli({"--delay", "1h"});
  ASSERT_FALSE(id.empty());
  auto from_env = cli({"status", id, "dgfa"}, {"DMQ_URL=" + url()});
  EXPECT_EQ(from_env.exit_code, 0) << from_env.all();
  EXPECT_EQ(from_env.out, "waiting\n");
  auto from_config = cli({"status", id, "dgfa", "--config", dir});
  EXPECT_EQ(from_config.exit_code, 0) << from_config.all();
  EXPECT_EQ(from_config.out, "waiting\n");
  // The flag wins over the environment, which wins over the config dir.
  int closed = test::free_port();
  auto closed_url = "http://127.0.0.1:" + std::to_string(closed);
  auto flag_wins = cli({"status", id, "dgfa", "--url", url()}, {"DMQ_URL=" + closed_url});
  EXPECT_EQ(flag_wins.exit_code, 0) << flag_wins.all();
  auto env_wins = cli({"status", id, "dgfa", "--config", dir}, {"DMQ_URL=" + closed_url});
  EXPECT_EQ(env_wins.exit_code, 3) << env_wins.all();
  EXPECT_TRUE(has(env_wins.err, "cannot reach dmq at " + closed_url)) << env_wins.all();
}

TEST_F(cli_api_test, exit_codes_say_what_went_wrong) {
  auto id = send_cli({"--delay", "1h"});
  ASSERT_FALSE(id.empty());
  // 1: the API answered an error; the message names the field.
  auto api_error = run({"status", id, "nosuch"});
  EXPECT_EQ(api_error.exit_code, 1) << api_error.all();
  EXPECT_TRUE(has(api_error.err, "consumer: 'nosuch' is not configured")) << api_error.all();
  auto bad_send = run({"send", "--project", "sds", "--cmd", "sds:no:such", "--bucket", "b"});
  EXPECT_EQ(bad_send.exit_code, 1) << bad_send.all();
  EXPECT_TRUE(has(bad_send.err, "cmd: 'sds:no:such' is not configured")) << bad_send.all();
  // 2: usage, before any request.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"status", "not-an-id", "dgfa"},
           {"status", id},
           {"send", "--cmd", "sds:create:order", "--bucket", "b"},
           {"send", "--project", "sds", "--cmd", "c", "--bucket", "b", "--delay", "5"},
           {"send", "--project", "sds", "--cmd", "c", "--bucket", "b", "--delay", "1s",
            "--timestamp", "1"},
           {"send", "--project", "sds", "--cmd", "c", "--bucket", "b", "--params", "@/nonexistent"},
           {"retry", "-c", "dgfa"},
           {"status", id, "dgfa", "--no-such-flag"},
       }) {
    auto r = run(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << " " << (args.size() > 1 ? args[1] : "") << "\n"
                              << r.all();
    EXPECT_EQ(r.out, "") << r.all();
  }
  auto bad_url = cli({"status", id, "dgfa", "--url", "ftp://127.0.0.1:1"});
  EXPECT_EQ(bad_url.exit_code, 2) << bad_url.all();
  EXPECT_TRUE(has(bad_url.err, "http or https")) << bad_url.all();
  // 3: nothing listens there, or what answers is not dmq.
  auto closed =
      cli({"status", id, "dgfa", "--url", "http://127.0.0.1:" + std::to_string(test::free_port())});
  EXPECT_EQ(closed.exit_code, 3) << closed.all();
  EXPECT_TRUE(has(closed.err, "cannot reach dmq")) << closed.all();
  auto not_dmq =
      cli({"status", id, "dgfa", "--url", "http://127.0.0.1:" + std::to_string(endpoint.port())});
  EXPECT_EQ(not_dmq.exit_code, 3) << not_dmq.all();
  EXPECT_TRUE(has(not_dmq.err, "HTTP 200 without dmq's JSON envelope")) << not_dmq.all();
  // 5: no such message.
  auto unknown = run({"detail", "12345", "dgfa"});
  EXPECT_EQ(unknown.exit_code, 5) << unknown.all();
  EXPECT_TRUE(has(unknown.err, "message not found")) << unknown.all();
}

// The operators' endpoints of issue 14 (attempts, find, scheduled, failed, reschedule,
// pause, resume, jobs, stats, events) through their subcommands.
using cli_ops_test = cli_api_test;

// ids_in returns the ids a table printed, in order (its first column, header skipped).
std::vector<std::string> ids_in(const std::string& out) {
  std::vector<std::string> ids;
  std::istringstream in(out);
  std::string line;
  for (bool header = true; std::getline(in, line); header = false) {
    auto word = line.substr(0, line.find(' '));
    // An id has 15 digits or more (it starts with a millisecond time); a footer's count not.
    if (!header && word.size() >= 15 && word.find_first_not_of("0123456789") == std::string::npos)
      ids.push_back(word);
  }
  return ids;
}

TEST_F(cli_ops_test, attempts_and_detail_show_why_a_delivery_failed) {
  endpoint.when_path("/dgfa", answer::with_status(503));
  auto id = send_cli();
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(wait_cli_status(id, "dgfa", "failure")) << cli_status(id, "dgfa");
  auto a = run({"attempts", id, "dgfa"});
  ASSERT_EQ(a.exit_code, 0) << a.all();
  EXPECT_TRUE(has(a.out, "failure after 1 attempt(s)")) << a.all();
  EXPECT_TRUE(has(a.out, "ATTEMPT")) << a.all();
  EXPECT_TRUE(has(a.out, "503")) << a.all();
  EXPECT_TRUE(has(a.out, "scripted failure")) << a.all();  // the answer's first bytes
  auto j = run({"attempts", id, "-c", "dgfa", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.all();
  auto h = json::parse(j.out).at("history");
  ASSERT_EQ(h.as_array().size(), 1u) << j.out;
  EXPECT_EQ(h.at(0).at("http_status"), 503) << j.out;
  EXPECT_EQ(h.at(0).at("outcome"), "failure") << j.out;
  auto d = run({"detail", id, "dgfa"});
  ASSERT_EQ(d.exit_code, 0) << d.all();
  EXPECT_TRUE(has(d.out, "CONSUMER")) << d.all();
  EXPECT_TRUE(has(d.out, "failure 503")) << d.all();  // dgfa's last attempt
  auto unknown = run({"attempts", "12345", "dgfa"});
  EXPECT_EQ(unknown.exit_code, 5) << unknown.all();
}

TEST_F(cli_ops_test, find_answers_the_ids_sent_with_a_request_id_or_key) {
  auto first = send_cli({"--delay", "1h", "--request-id", "r-find"});
  auto second = send_cli({"--delay", "1h", "--request-id", "r-find"});
  auto keyed = send_cli({"--delay", "1h", "--idempotency-key", "k-find"});
  send_cli({"--delay", "1h", "--request-id", "r-other"});
  auto r = run({"find", "--project", "sds", "--request-id", "r-find"});
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_EQ(r.out, first + "\n" + second + "\n");  // oldest first
  auto k = run({"find", "--project", "sds", "--idempotency-key", "k-find", "--json"});
  ASSERT_EQ(k.exit_code, 0) << k.all();
  EXPECT_EQ(json::parse(k.out).at("ids"), json::parse("[\"" + keyed + "\"]")) << k.out;
  auto none = run({"find", "--project", "sds", "--request-id", "r-none"});
  EXPECT_EQ(none.exit_code, 0) << none.all();
  EXPECT_EQ(none.out, "");
}

TEST_F(cli_ops_test, scheduled_pages_by_due_time_and_all_reads_every_page) {
  std::vector<std::string> ids;
  for (const char* delay : {"3h", "1h", "2h"}) ids.push_back(send_cli({"--delay", delay}));
  std::vector<std::string> by_due{ids[1], ids[2], ids[0]};
  auto page = run({"scheduled", "dgfa", "--limit", "2"});
  ASSERT_EQ(page.exit_code, 0) << page.all();
  EXPECT_EQ(ids_in(page.out), std::vector<std::string>(by_due.begin(), by_due.begin() + 2))
      << page.all();
  EXPECT_TRUE(has(page.out, "3 scheduled in the range")) << page.all();
  EXPECT_TRUE(has(page.out, "more: dmq scheduled dgfa --cursor ")) << page.all();
  auto all = run({"scheduled", "dgfa", "--limit", "2", "--all"});
  ASSERT_EQ(all.exit_code, 0) << all.all();
  EXPECT_EQ(ids_in(all.out), by_due) << all.all();
  EXPECT_FALSE(has(all.out, "more:")) << all.all();
  auto j = run({"scheduled", "-c", "dgfa", "--limit", "1", "--all", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.all();
  EXPECT_EQ(json::parse(j.out).at("list").as_array().size(), 3u) << j.out;
}

TEST_F(cli_ops_test, failed_lists_a_consumers_failures_filtered_by_text) {
  endpoint.when_path("/dgfa", answer::with_status(500));
  auto a = send_cli({"--request-id", "r-f1"});
  auto b = send_cli({"--request-id", "r-f2"});
  ASSERT_TRUE(wait_cli_status(a, "dgfa", "failure"));
  ASSERT_TRUE(wait_cli_status(b, "dgfa", "failure"));
  auto r = run({"failed", "dgfa"});
  ASSERT_EQ(r.exit_code, 0) << r.all();
  auto listed = ids_in(r.out);
  std::sort(listed.begin(), listed.end());
  auto want = std::vector<std::string>{a, b};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(listed, want) << r.all();
  EXPECT_TRUE(has(r.out, "r-f1")) << r.all();
  EXPECT_TRUE(has(r.out, "2 failed in all")) << r.all();
  auto q = run({"failed", "dgfa", "-q", "r-f2"});
  ASSERT_EQ(q.exit_code, 0) << q.all();
  EXPECT_EQ(ids_in(q.out), std::vector<std::string>{b}) << q.all();
}

TEST_F(cli_ops_test, reschedule_moves_a_waiting_message) {
  auto id = send_cli({"--delay", "1h"});
  auto before = now_ms();
  auto r = run({"reschedule", id, "--delay", "2h"});
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_TRUE(has(r.out, id + " due at ")) << r.all();
  auto due = std::stoll(stored(id, "due"));
  EXPECT_GE(due, before + 2 * 3600 * 1000);
  EXPECT_LE(due, now_ms() + 2 * 3600 * 1000);
  auto at = std::to_string(now_ms() + 5 * 3600 * 1000);
  auto j = run({"reschedule", id, "--due-ms", at, "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.all();
  EXPECT_EQ(json::parse(j.out).at("due_ms").to_number<std::int64_t>(), std::stoll(at)) << j.out;
  EXPECT_EQ(stored(id, "due"), at);
  auto usage_error = run({"reschedule", id});
  EXPECT_EQ(usage_error.exit_code, 2) << usage_error.all();
  auto unknown = run({"reschedule", "12345", "--delay", "1m"});
  EXPECT_EQ(unknown.exit_code, 5) << unknown.all();
}

TEST_F(cli_ops_test, pause_holds_a_consumers_deliveries_and_resume_lets_them_go) {
  auto p = run({"pause", "dgfa"});
  ASSERT_EQ(p.exit_code, 0) << p.all();
  EXPECT_TRUE(has(p.out, "paused dgfa since ")) << p.all();
  auto id = send_cli();
  ASSERT_TRUE(endpoint.wait_for_distinct("/fghyds", 1, 10s));
  // fghyds got it; dgfa, paused, does not (checked over a second).
  EXPECT_FALSE(endpoint.wait_for_distinct("/dgfa", 1, 1s));
  auto r = run({"resume", "dgfa"});
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_EQ(r.out, "resumed dgfa\n");
  EXPECT_TRUE(wait_cli_status(id, "dgfa", "done")) << cli_status(id, "dgfa");
}

TEST_F(cli_ops_test, replay_with_wait_follows_the_job_to_done_and_jobs_lists_it) {
  endpoint.when_path("/dgfa", answer::with_status(500));
  auto a = send_cli();
  auto b = send_cli();
  ASSERT_TRUE(wait_cli_status(a, "dgfa", "failure"));
  ASSERT_TRUE(wait_cli_status(b, "dgfa", "failure"));
  endpoint.clear_rules();
  // At 2 per second the job runs for about a second: --wait must follow it.
  auto r = run({"replay", "dgfa", "--rate", "2", "--wait"});
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_TRUE(has(r.out, "replay of dgfa: done, 2/2 processed")) << r.all();
  EXPECT_TRUE(wait_cli_status(a, "dgfa", "done"));
  EXPECT_TRUE(wait_cli_status(b, "dgfa", "done"));
  auto jobs = run({"jobs"});
  ASSERT_EQ(jobs.exit_code, 0) << jobs.all();
  EXPECT_TRUE(has(jobs.out, "JOB_ID")) << jobs.all();
  EXPECT_TRUE(has(jobs.out, "replay")) << jobs.all();
  auto lj = run({"jobs", "--json"});
  ASSERT_EQ(lj.exit_code, 0) << lj.all();
  auto job_id = field_text(json::parse(lj.out).at("jobs").at(0).at("job_id"));
  auto one = run({"jobs", job_id, "--json"});
  ASSERT_EQ(one.exit_code, 0) << one.all();
  EXPECT_EQ(json::parse(one.out).at("state"), "done") << one.out;
  EXPECT_EQ(json::parse(one.out).at("succeeded").to_number<int>(), 2) << one.out;
}

TEST_F(cli_ops_test, solve_without_wait_prints_the_job_id) {
  endpoint.when_path("/dgfa", answer::with_status(500));
  auto a = send_cli();
  ASSERT_TRUE(wait_cli_status(a, "dgfa", "failure"));
  // A cmd filter no failed message matches: the job processes none.
  auto none = run({"replay", "dgfa", "--cmd", "sds:other", "--wait"});
  EXPECT_EQ(none.exit_code, 0) << none.all();
  EXPECT_TRUE(has(none.out, "replay of dgfa: done, 0/")) << none.all();
  EXPECT_TRUE(has(none.out, " 0 succeeded")) << none.all();
  EXPECT_EQ(cli_status(a, "dgfa"), "failure");
  auto r = run({"solve", "-c", "dgfa"});
  ASSERT_EQ(r.exit_code, 0) << r.all();
  auto job_id = trimmed(r.out);
  ASSERT_FALSE(job_id.empty()) << r.all();
  EXPECT_TRUE(test::wait_until(
      [&] {
        return has(run({"jobs", job_id}).out, ": done, 1/1 processed");
      },
      10s))
      << run({"jobs", job_id}).all();
  EXPECT_TRUE(wait_cli_status(a, "dgfa", "done"));
  auto bad = run({"replay", "nosuch"});
  EXPECT_EQ(bad.exit_code, 1) << bad.all();
}

TEST_F(cli_ops_test, a_cancelled_job_ends_wait_with_exit_1) {
  endpoint.when_path("/dgfa", answer::with_status(500));
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(send_cli());
  for (const auto& id : ids) ASSERT_TRUE(wait_cli_status(id, "dgfa", "failure"));
  cli_result waited;
  std::atomic<bool> ended{false};
  std::thread t([&] {
    waited = run({"replay", "dgfa", "--rate", "1", "--wait"});
    ended = true;
  });
  // At 1 per second the job runs for about 4 s: cancel it while --wait follows it.
  std::string job_id;
  bool running = test::wait_until(
      [&] {
        auto l = run({"jobs", "--json"});
        if (l.exit_code != 0) return false;
        auto jobs = json::parse(l.out);
        for (const auto& j : jobs.at("jobs").as_array())
          if (j.at("state") == "running") job_id = field_text(j.at("job_id"));
        return !job_id.empty();
      },
      10s);
  auto c = running ? run({"jobs", "--cancel", job_id}) : cli_result{};
  t.join();
  ASSERT_TRUE(running);
  EXPECT_EQ(c.exit_code, 0) << c.all();
  EXPECT_EQ(c.out, "job " + job_id + ": cancelled\n") << c.all();
  EXPECT_EQ(waited.exit_code, 1) << waited.all();
  EXPECT_TRUE(has(waited.err, "job " + job_id + " ended cancelled")) << waited.all();
  EXPECT_TRUE(has(waited.out, "replay of dgfa: running")) << waited.all();
}

TEST_F(cli_ops_test, stats_counts_a_consumers_messages_and_shows_it_paused) {
  send_cli({"--delay", "1h"});
  send_cli({"--delay", "2h"});
  auto p = run({"pause", "fghyds"});
  ASSERT_EQ(p.exit_code, 0) << p.all();
  auto j = run({"stats", "--project", "sds", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.all();
  auto stats = json::parse(j.out);
  std::map<std::string, json::value> by_name;
  for (const auto& pr : stats.at("projects").as_array())
    for (const auto& c : pr.at("consumers").as_array()) by_name[field_text(c.at("consumer"))] = c;
  ASSERT_EQ(by_name.count("dgfa"), 1u) << j.out;
  EXPECT_EQ(by_name["dgfa"].at("waiting").to_number<int>(), 2) << j.out;
  EXPECT_EQ(by_name["dgfa"].at("paused"), false) << j.out;
  EXPECT_EQ(by_name["fghyds"].at("paused"), true) << j.out;
  auto t = run({"stats"});
  ASSERT_EQ(t.exit_code, 0) << t.all();
  EXPECT_TRUE(has(t.out, "PROJECT  CONSUMER  WAITING")) << t.all();
  EXPECT_TRUE(has(t.out, "\nsds      dgfa      2  ")) << t.all();
  EXPECT_TRUE(has(t.out, "fghyds") && has(t.out, " since 20")) << t.all();
}

TEST_F(cli_ops_test, tail_prints_one_line_per_attempt_until_count) {
  cli_result tailed;
  std::atomic<bool> ended{false};
  std::thread t([&] {
    tailed = run({"tail", "dgfa", "--count", "2", "--for", "20"});
    ended = true;
  });
  // The tail has asked once (dmq's tail flag is set); dispatchers notice the flag within
  // about a second, so messages are sent until two outcomes have been printed.
  bool reading = test::wait_until(
      [&] {
        return redis.cmd({"EXISTS", "dmq:tail"}).integer == 1;
      },
      10s);
  std::vector<std::string> sent;
  for (int i = 0; reading && i < 60 && !ended; ++i) {
    sent.push_back(send_cli());
    test::wait_until([&] { return ended.load(); }, 300ms);
  }
  t.join();
  ASSERT_TRUE(reading);
  EXPECT_EQ(tailed.exit_code, 0) << tailed.all();
  std::istringstream in(tailed.out);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 2u) << tailed.all();
  for (const auto& l : lines) {
    EXPECT_TRUE(has(l, " sds/dgfa ")) << l;
    EXPECT_TRUE(has(l, " #1 done")) << l;
    bool known = false;
    for (const auto& id : sent) known = known || has(l, " " + id + " ");
    EXPECT_TRUE(known) << l;
  }
}

TEST_F(cli_ops_test, tail_ends_with_exit_0_on_ctrl_c_and_after_for) {
  auto bounded = run({"tail", "--for", "1"});
  EXPECT_EQ(bounded.exit_code, 0) << bounded.all();
  // SIGINT (Ctrl-C) after a second: exit 0, not 130.
  auto cmd = std::string("timeout --preserve-status -s INT 1 ") + DMQ_BINARY + " tail --url " +
             url() + " >/dev/null 2>&1; echo $?";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[64] = {};
  auto n = std::fread(buf, 1, sizeof buf - 1, p);
  ::pclose(p);
  EXPECT_EQ(std::string(buf, n), "0\n");
}

// The same CLI against projects guarded by tokens (auth_fixture.h): pa takes token_a.
class cli_auth_test : public auth_test {
 protected:
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

TEST_F(cli_auth_test, the_token_comes_from_the_flag_a_file_or_the_environment_else_exit_4) {
  auto id = send(owner_a, message("a", "{}", 3600 * 1000));
  ASSERT_NE(id, 0u);
  auto sid = std::to_string(id);
  // No token: not allowed, and the message says which credential is missing.
  auto none = cli({"status", sid, "ca", "--url", url()});
  EXPECT_EQ(none.exit_code, 4) << none.all();
  EXPECT_TRUE(has(none.err, "not allowed")) << none.all();
  EXPECT_TRUE(has(none.err, "no token was sent")) << none.all();
  auto wrong = cli({"status", sid, "ca", "--url", url(), "--token", token_wrong});
  EXPECT_EQ(wrong.exit_code, 4) << wrong.all();
  auto send_refused =
      cli({"send", "--project", "pa", "--cmd", "pa:do", "--bucket", "b", "--url", url()});
  EXPECT_EQ(send_refused.exit_code, 4) << send_refused.all();

  auto flag = cli({"status", sid, "ca", "--url", url(), "--token", token_a});
  EXPECT_EQ(flag.exit_code, 0) << flag.all();
  EXPECT_EQ(flag.out, "waiting\n");
  auto env = cli({"status", sid, "ca", "--url", url()}, {std::string("DMQ_TOKEN=") + token_a});
  EXPECT_EQ(env.exit_code, 0) << env.all();
  auto token_file = fs::temp_directory_path() / ("dmq-cli-token-" + std::to_string(::getpid()));
  std::ofstream(token_file) << token_admin << "\n";
  auto file = cli({"status", sid, "ca", "--url", url(), "--token-file", token_file.string()},
                  {std::string("DMQ_TOKEN=") + token_wrong});
  fs::remove(token_file);
  EXPECT_EQ(file.exit_code, 0) << file.all();
  // The flag wins over the environment.
  auto flag_wins = cli({"status", sid, "ca", "--url", url(), "--token", token_a},
                       {std::string("DMQ_TOKEN=") + token_wrong});
  EXPECT_EQ(flag_wins.exit_code, 0) << flag_wins.all();

  auto sent = cli({"send", "--project", "pa", "--cmd", "pa:do", "--bucket", "b", "--delay", "1h",
                   "--url", url(), "--token", token_a});
  EXPECT_EQ(sent.exit_code, 0) << sent.all();
  EXPECT_EQ(status_in_redis(std::stoull(trimmed(sent.out)), "a", "ca"), "waiting");
}

// The CLI against a dmq serving HTTPS (http.tls) with a certificate for IP 127.0.0.1 by a
// CA the test makes with the openssl CLI.
class cli_tls_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = test::make_config_dir(redis.port(), port);
    auto made = shell("cd " + dir +
                      " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
                      " -days 2 -subj /CN=cli-ca -keyout ca.key -out ca.pem"
                      " && echo subjectAltName=IP:127.0.0.1 >san.cnf"
                      " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
                      " -subj /CN=dmq -keyout cert.key -out cert.csr"
                      " && openssl x509 -req -days 2 -in cert.csr -CA ca.pem -CAkey ca.key"
                      " -set_serial 7 -extfile san.cnf -out cert.pem");
    ASSERT_EQ(made.exit_code, 0) << made.out;
    std::ifstream in(dir + "/config.yaml");
    std::string yaml((std::istreambuf_iterator<char>(in)), {});
    ASSERT_TRUE(replace_once(yaml, "http:\n  listen: 127.0.0.1\n",
                             "http:\n  listen: 127.0.0.1\n  tls:\n    cert_file: cert.pem\n"
                             "    key_file: cert.key\n"));
    std::ofstream(dir + "/config.yaml", std::ios::trunc) << yaml;
    dmq = std::make_unique<test::dmq_process>(dir, port, "client", false);
    ASSERT_TRUE(test::wait_until(
        [&] {
          return shell("curl -sS -m 5 --cacert " + dir + "/ca.pem -o /dev/null -w %{http_code} " +
                       "https://127.0.0.1:" + std::to_string(port) + "/healthz")
                     .out == "200";
        },
        10s))
        << dmq->log();
  }
  void TearDown() override {
    dmq.reset();
    test::remove_config_dir(dir);
  }

  struct shell_result {
    int exit_code = -1;
    std::string out;
  };
  static shell_result shell(const std::string& cmd) {
    shell_result r;
    FILE* p = ::popen(("bash -c " + quoted(cmd) + " 2>&1").c_str(), "r");
    if (!p) return r;
    char buf[4096];
    for (std::size_t k; (k = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, k);
    int status = ::pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
  }

  test::redis_server redis;
  int port = test::free_port();
  std::string dir;
  std::unique_ptr<test::dmq_process> dmq;
};

TEST_F(cli_tls_test, https_from_the_config_dir_verified_against_the_ca_file) {
  std::vector<std::string> send{"send",     "--project", "sds",     "--cmd", "sds:create:order",
                                "--bucket", "b",         "--delay", "1h",    "--config",
                                dir};
  auto with_ca = send;
  with_ca.insert(with_ca.end(), {"--ca-file", dir + "/ca.pem"});
  auto ok = cli(with_ca);
  ASSERT_EQ(ok.exit_code, 0) << ok.all() << dmq->log();
  auto id = trimmed(ok.out);
  auto st = cli({"status", id, "dgfa", "--url", "https://127.0.0.1:" + std::to_string(port),
                 "--ca-file", dir + "/ca.pem"});
  EXPECT_EQ(st.exit_code, 0) << st.all();
  EXPECT_EQ(st.out, "waiting\n");
  // The system's CAs do not know the test's CA: refused, exit 3, saying why.
  auto unverified = cli(send);
  EXPECT_EQ(unverified.exit_code, 3) << unverified.all();
  EXPECT_TRUE(has(unverified.err, "TLS handshake failed")) << unverified.all();
  EXPECT_TRUE(has(unverified.err, "certificate verify failed")) << unverified.all();
  auto insecure = send;
  insecure.push_back("--insecure");
  auto r = cli(insecure);
  EXPECT_EQ(r.exit_code, 0) << r.all();
  // Plain HTTP to the HTTPS port: no envelope comes back.
  auto plain = cli({"status", id, "dgfa", "--url", "http://127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(plain.exit_code, 3) << plain.all();
}

}  // namespace
}  // namespace dmq::e2e
