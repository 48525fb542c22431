// openapi: the OpenAPI 3.1 description of the API (docs/openapi.json), compiled in by
// cmake/embed_openapi.cmake and served at GET /api/openapi.json.
#pragma once

#include <string_view>

namespace dmq::ingest {

// openapi_document returns the text of docs/openapi.json as it was at build time.
std::string_view openapi_document();

}  // namespace dmq::ingest
