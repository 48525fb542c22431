// dashboard_test: the dashboard (docs/dashboard.md). How dmq serves /ui/ (types, ETag and
// 304, the Content-Security-Policy, the redirect, 404 and 405, open to every caller); that
// its scripts never turn data into markup; and an operator's story in a real browser
// (Debian's Chromium, headless, driven by playwright-core: tests/node/dashboard_story.js):
// a message fails for a consumer; the page asks for a token; the operator finds the message
// by its request_id, reads its last error, replays it and sees it delivered; then replays
// the rest of the failed list as a job and watches its progress.
//
// With DMQ_UI_SCREENSHOTS=DIR the story saves the overview, consumer and message pages as
// PNGs there (scripts/screenshots.sh: docs/images/).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "delivery_fixture.h"
#include "support/node_verifier.h"
#include "util/crypto.h"

namespace dmq::e2e {
namespace {

namespace fs = std::filesystem;

fs::path ui_dir() {
  return fs::path(DMQ_SOURCE_DIR) / "src" / "ui";
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string header(const http_reply& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

// --------------------------------------------------------------- serving (dmq client)

class dashboard_serving_test : public dmq_test {};

TEST_F(dashboard_serving_test, ui_redirects_to_ui_slash) {
  auto r = get("/ui");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(header(r, "location"), "/ui/");
  auto q = get("/ui?x=1");
  EXPECT_EQ(q.status, 301);
  EXPECT_EQ(header(q, "location"), "/ui/");
}

TEST_F(dashboard_serving_test, serves_every_file_of_src_ui_with_its_type_etag_and_policy) {
  std::map<std::string, std::string> types = {{".html", "text/html; charset=utf-8"},
                                              {".js", "text/javascript; charset=utf-8"},
                                              {".css", "text/css; charset=utf-8"},
                                              {".svg", "image/svg+xml"}};
  int files = 0;
  for (const auto& e : fs::directory_iterator(ui_dir())) {
    auto name = e.path().filename().string();
    auto r = get("/ui/" + name);
    ++files;
    EXPECT_EQ(r.status, 200) << name;
    EXPECT_EQ(r.body, read_file(e.path())) << name << ": not the file as it is in src/ui";
    ASSERT_TRUE(types.count(e.path().extension().string())) << name;
    EXPECT_EQ(header(r, "content-type"), types[e.path().extension().string()]) << name;
    EXPECT_TRUE(std::regex_match(header(r, "etag"), std::regex("\"[0-9a-f]{16}\"")))
        << name << ": " << header(r, "etag");
    EXPECT_EQ(header(r, "cache-control"), "no-cache") << name;
    EXPECT_EQ(header(r, "x-content-type-options"), "nosniff") << name;
    auto csp = header(r, "content-security-policy");
    EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << name << ": " << csp;
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << name << ": " << csp;
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << name << ": " << csp;
  }
  EXPECT_GE(files, 8);
  // /ui/ is index.html.
  auto index = get("/ui/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, read_file(ui_dir() / "index.html"));
  EXPECT_EQ(header(index, "content-type"), "text/html; charset=utf-8");
  // Each file its own tag.
  EXPECT_NE(header(get("/ui/app.js"), "etag"), header(get("/ui/api.js"), "etag"));
}

TEST_F(dashboard_serving_test, answers_304_to_a_browser_holding_the_file) {
  auto first = get("/ui/app.js");
  auto tag = header(first, "etag");
  ASSERT_FALSE(tag.empty());
  for (const auto& inm : {tag, "W/" + tag, "\"other\", " + tag, std::string("*")}) {
    auto r = test::call(port, "GET", "/ui/app.js", "", {{"If-None-Match", inm}});
    EXPECT_EQ(r.status, 304) << inm;
    EXPECT_TRUE(r.body.empty()) << inm;
    EXPECT_EQ(header(r, "content-length"), "") << "a 304 claims no body length";
    EXPECT_EQ(header(r, "etag"), tag);
  }
  auto other = test::call(port, "GET", "/ui/app.js", "", {{"If-None-Match", "\"0000\""}});
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(other.body, first.body);
  // The connection goes on after a 304 (no body to skip).
  test::http_client c(port);
  EXPECT_EQ(c.request("GET", "/ui/app.js", "", {{"If-None-Match", tag}}).status, 304);
  EXPECT_EQ(c.request("GET", "/healthz").status, 200);
}

TEST_F(dashboard_serving_test, refuses_other_paths_and_methods) {
  for (const auto* path : {"/ui/nope.js", "/ui/../healthz", "/ui/%2e%2e/healthz", "/ui/app.js/x",
                           "/ui//app.js", "/uix", "/ui/README.md"}) {
    auto r = get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.code(), 120) << path << ": " << r.body;
  }
  auto post = test::call(port, "POST", "/ui/", "{}");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.code(), 121);
}

TEST_F(dashboard_serving_test, is_open_to_callers_the_api_refuses) {
  // 127.0.0.2 is in no allow_ip: the API refuses it, the page (which holds no data) does not.
  auto api = test::call_from("127.0.0.2", port, "GET", "/api/message/pending?consumer=dgfa");
  EXPECT_EQ(api.status, 403);
  auto page = test::call_from("127.0.0.2", port, "GET", "/ui/");
  EXPECT_EQ(page.status, 200);
}

// The page builds its DOM with textContent and attributes only: no script of src/ui may
// parse text as HTML or code, and index.html has no inline script or style (which the
// policy would refuse anyway).
TEST(dashboard_source, never_parses_data_as_markup_or_code) {
  const std::regex forbidden(
      R"(innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\s*\(|new\s+Function|setTimeout\s*\(\s*['"`]|DOMParser|createContextualFragment)");
  int scripts = 0;
  for (const auto& e : fs::directory_iterator(ui_dir())) {
    auto text = read_file(e.path());
    if (e.path().extension() == ".js") {
      ++scripts;
      std::smatch m;
      EXPECT_FALSE(std::regex_search(text, m, forbidden))
          << e.path().filename() << " uses " << m.str();
    }
    if (e.path().extension() == ".html") {
      EXPECT_FALSE(std::regex_search(text, std::regex(R"(<script(?![^>]*\bsrc=)[^>]*>)")))
          << "inline <script> in " << e.path().filename();
      EXPECT_FALSE(std::regex_search(text, std::regex(R"(\sstyle=|<style|\son[a-z]+=)")))
          << "inline style or handler in " << e.path().filename();
    }
  }
  EXPECT_GE(scripts, 5);
}

// --------------------------------------------------------------- the browser

// chromium_binary: DMQ_CHROMIUM, else Debian's /usr/bin/chromium.
std::string chromium_binary() {
  const char* env = std::getenv("DMQ_CHROMIUM");
  return env && *env ? env : "/usr/bin/chromium";
}

// browser_unavailable says why the browser tests cannot run ("" if they can). They fail
// then, rather than skip: the dashboard is tested in a browser or not at all.
std::string browser_unavailable() {
  if (::access(chromium_binary().c_str(), X_OK) != 0)
    return chromium_binary() +
           " is missing: the dashboard's tests need Chromium (scripts/setup.sh installs "
           "Debian's chromium; or set DMQ_CHROMIUM)";
  if (test::node_binary().empty())
    return "Node.js (node) is not installed: scripts/setup.sh installs it (Debian's nodejs)";
  if (!fs::exists(fs::path(DMQ_SOURCE_DIR) / "tests/node/node_modules/playwright-core"))
    return "tests/node/node_modules/playwright-core is missing: run scripts/setup.sh (npm ci "
           "in tests/node)";
  return "";
}

struct story_result {
  int exit_code = -1;
  std::string output;
};

// run_story runs tests/node/dashboard_story.js with cfg (bounded: 150 s).
story_result run_story(const json::object& cfg) {
  static int n = 0;
  auto file = fs::temp_directory_path() /
              ("dmq-ui-story-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".json");
  std::ofstream(file) << json::serialize(cfg);
  auto script = fs::path(DMQ_SOURCE_DIR) / "tests/node/dashboard_story.js";
  auto cmd = "timeout -k 5 150 " + test::node_binary() + " " + script.string() + " " +
             file.string() + " 2>&1";
  story_result out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  for (std::size_t k; (k = std::fread(buf, 1, sizeof buf, p)) > 0;) out.output.append(buf, k);
  int status = ::pclose(p);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  fs::remove(file);
  return out;
}

constexpr const char* ui_token = "tok-UI-5e1f0c3a9b7d2e4f6a8c";

// dashboard_story_test: dmq run whose project sds takes a token only (no allow_ip), so the
// page must ask for it; dgfa tries twice (retry_times 1), fghyds takes everything.
class dashboard_story_test : public delivery_test {
 protected:
  void configure() override {
    dgfa.retry_times = 1;
    dgfa.interval = 100;
    start_run = false;
  }
  void SetUp() override {
    delivery_test::SetUp();
    auto yaml = read_file(fs::path(dir) / "config.yaml");
    ASSERT_TRUE(replace_once(
        yaml, "    allow_ip: [127.0.0.1]\n",
        "    tokens: [\"sha256:" + util::to_hex(util::as_view(util::sha256(ui_token))) + "\"]\n"));
    std::ofstream(fs::path(dir) / "config.yaml", std::ios::trunc) << yaml;
    dmq = start_dmq(dir, port, "run");
  }

  test::header_list auth() const { return {{"Authorization", std::string("Bearer ") + ui_token}}; }
  std::uint64_t send(json::object m) const {
    auto r = test::call(port, "POST", "/api/message/single", text(m), auth());
    EXPECT_EQ(r.code(), 0) << r.body;
    return r.code() == 0 ? id_of(r) : 0;
  }
  std::string status_of(std::uint64_t id, const std::string& consumer) const {
    auto r = test::call(
        port, "GET", "/api/message/status?msg_id=" + std::to_string(id) + "&consumer=" + consumer,
        "", auth());
    return r.code() == 0 && r.data().is_string() ? std::string(r.data().as_string()) : r.body;
  }
};

TEST_F(dashboard_story_test, find_a_failed_message_read_its_error_replay_it_see_it_delivered) {
  auto why = browser_unavailable();
  ASSERT_EQ(why, "") << why;
  // Each message's first two deliveries to dgfa fail (500): with retry_times 1 that is its
  // end; the delivery after a retry succeeds. A message whose params say always-fail
  // fails every time (the failed list's other rows).
  endpoint.when_path("/dgfa/", answer::fail_times(2));
  endpoint.when_body("always-fail", answer::with_status(503));

  // Its request_id and params hold markup, which the page must show as text.
  const std::string rid = "order-42 <b>x</b>";
  auto m = message(R"({"order_id":42,"note":"<img src=x onerror=\"window.__dmq_xss=1\">"})");
  m["request_id"] = rid;
  auto id = send(m);
  ASSERT_NE(id, 0u);
  // Company for it: messages that fail for good, and some scheduled for later.
  std::vector<std::uint64_t> others;
  for (int i = 0; i < 3; ++i) {
    auto o = message("{\"order_id\":" + std::to_string(100 + i) + ",\"mode\":\"always-fail\"}");
    o["request_id"] = "order-" + std::to_string(100 + i);
    others.push_back(send(o));
  }
  for (int i = 0; i < 12; ++i) {
    auto o = message("{\"order_id\":" + std::to_string(200 + i) + "}", 3600000 + i * 600000);
    o["request_id"] = "order-" + std::to_string(200 + i);
    send(o);
  }
  ASSERT_TRUE(test::wait_until([&] { return status_of(id, "dgfa") == "failure"; }, 20s))
      << status_of(id, "dgfa") << "\n"
      << dmq->log();
  for (auto o : others)
    ASSERT_TRUE(test::wait_until([&] { return status_of(o, "dgfa") == "failure"; }, 20s));
  ASSERT_EQ(endpoint.for_id(id, "/dgfa").size(), 2u);

  json::object cfg{
      {"url", "http://127.0.0.1:" + std::to_string(port)},
      {"chromium", chromium_binary()},
      {"mode", "story"},
      {"token", ui_token},
      {"request_id", rid},
      {"msg_id", std::to_string(id)},
      {"consumer", "dgfa"},
      {"scheduled", 12},
      {"screenshots", std::getenv("DMQ_UI_SCREENSHOTS") ? std::getenv("DMQ_UI_SCREENSHOTS") : ""}};
  auto r = run_story(cfg);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\ndmq's log:\n" << dmq->log();
  EXPECT_NE(r.output.find("\nOK"), std::string::npos) << r.output;

  // What the page showed is what happened: the retry reached dgfa, once, and was done.
  EXPECT_EQ(status_of(id, "dgfa"), "done");
  EXPECT_EQ(endpoint.for_id(id, "/dgfa").size(), 3u) << describe(endpoint.for_id(id, "/dgfa"));
  // The job replayed the others, which failed again.
  for (auto o : others) {
    EXPECT_TRUE(test::wait_until([&] { return status_of(o, "dgfa") == "failure"; }, 10s));
    EXPECT_EQ(endpoint.for_id(o, "/dgfa").size(), 4u) << describe(endpoint.for_id(o, "/dgfa"));
  }
}

// dashboard_ip_test: the seed's rule: sds allows 127.0.0.1, so the page needs no token.
class dashboard_ip_test : public delivery_test {};

TEST_F(dashboard_ip_test, a_caller_allowed_by_address_needs_no_token) {
  auto why = browser_unavailable();
  ASSERT_EQ(why, "") << why;
  json::object cfg{{"url", "http://127.0.0.1:" + std::to_string(port)},
                   {"chromium", chromium_binary()},
                   {"mode", "ip"},
                   {"consumer", "dgfa"}};
  auto r = run_story(cfg);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\ndmq's log:\n" << dmq->log();
  EXPECT_NE(r.output.find("\nOK"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace dmq::e2e
