// ui: the dashboard (docs/dashboard.md). Its files, src/ui/, are compiled into the binary
// by cmake/embed_ui.cmake; serve_ui answers /ui and /ui/<name> with them. They are open,
// like /healthz: the page holds no data, and asks for a token to call the API with.
#pragma once

#include <string_view>
#include <vector>

#include "http/message.h"

namespace dmq::ingest {

struct ui_asset {
  std::string_view name;          // "index.html", "app.js", ...
  std::string_view content_type;  // a literal, as http::response keeps it
  std::string_view etag;          // quoted: "\"0123456789abcdef\""
  std::string_view body;
};

// ui_assets returns every file of src/ui/ (generated: build/generated/ui_embedded.cc).
const std::vector<ui_asset>& ui_assets();

// is_ui_path says whether path is the dashboard's: /ui or under /ui/.
bool is_ui_path(std::string_view path);

// serve_ui answers a request for a dashboard path: /ui redirects to /ui/, /ui/ is
// index.html, /ui/<name> a file (304 when If-None-Match holds its ETag), anything else 404.
http::response serve_ui(const http::request& req);

}  // namespace dmq::ingest
