// openapi_test: GET /api/openapi.json answers docs/openapi.json as compiled in, to every
// caller, and the document describes every route of the API (ingest::api::routes). That
// the API's answers match the document's schemas is checked by the ctest openapi_responses
// (tests/node/check_responses.js).
#include <fstream>
#include <sstream>

#include "fixture.h"
#include "ingest/api.h"

namespace dmq::e2e {
namespace {

std::string document_text() {
  std::ifstream in(std::string(DMQ_SOURCE_DIR) + "/docs/openapi.json");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// documents says whether the document has an operation method path.
bool documents(const json::object& doc, std::string_view method, std::string_view path) {
  const auto* item = doc.at("paths").as_object().if_contains(path);
  return item && item->is_object() && item->as_object().contains(lower(method));
}

using openapi_test = dmq_test;

TEST_F(openapi_test, answers_the_document_compiled_in) {
  auto r = get("/api/openapi.json");
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 500);
  EXPECT_EQ(r.headers["content-type"], "application/json; charset=utf-8");
  auto text = document_text();
  ASSERT_FALSE(text.empty()) << "cannot read docs/openapi.json";
  EXPECT_TRUE(r.body == text) << "the answer differs from docs/openapi.json (rebuild dmq?)";
  auto doc = r.json().as_object();
  EXPECT_EQ(doc.at("openapi").as_string().subview().substr(0, 4), "3.1.");
}

TEST_F(openapi_test, is_open_to_callers_who_may_do_nothing_else) {
  // 127.0.0.9 is in no allow_ip: management refuses it, the document does not.
  auto refused =
      test::call_from("127.0.0.9", port, "GET", "/api/message/status?msg_id=1&consumer=dgfa");
  EXPECT_EQ(refused.status, 403) << refused.body;
  auto r = test::call_from("127.0.0.9", port, "GET", "/api/openapi.json");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body == document_text()) << "not the document";
}

TEST_F(openapi_test, other_methods_are_405) {
  auto r = test::call(port, "POST", "/api/openapi.json", "{}");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.code(), 121) << r.body;
  EXPECT_EQ(r.data(), "/api/openapi.json: use GET");
}

TEST(openapi_document, describes_every_route_of_the_api) {
  auto doc = json::parse(document_text()).as_object();
  auto routes = ingest::api::routes();
  ASSERT_FALSE(routes.empty());
  for (const auto& [method, path] : routes)
    EXPECT_TRUE(documents(doc, method, path))
        << method << " " << path << " is a route of ingest::api but not in docs/openapi.json";
  // Those api::handle answers before its routes.
  for (const char* path : {"/healthz", "/metrics", "/api/openapi.json"})
    EXPECT_TRUE(documents(doc, "GET", path)) << "GET " << path;
}

}  // namespace
}  // namespace dmq::e2e
