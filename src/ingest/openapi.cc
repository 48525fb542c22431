// GET /api/openapi.json (api.h): the API's OpenAPI document, open to every caller like
// /healthz, since it describes the API and holds nothing of any project.
#include "ingest/openapi.h"

#include "ingest/api.h"
#include "ingest/envelope.h"

namespace dmq::ingest {

http::response api::openapi(const http::request& req) {
  if (req.method != "GET") return fail(errc::method_not_allowed, "/api/openapi.json: use GET", 405);
  return {200, std::string(openapi_document())};
}

std::vector<std::pair<std::string_view, std::string_view>> api::routes() {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  out.reserve(routes_.size());
  for (const auto& r : routes_) out.emplace_back(r.method, r.path);
  return out;
}

}  // namespace dmq::ingest
