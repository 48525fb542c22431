// api_harness: the producers' API (ingest/api.h) as the server calls it, with everything
// behind it real but Redis absent: the connection is never started, so a save or a script
// fails at once (redis not connected) and no id node is leased. What a fuzz target reaches
// through it is the parsing and checking of bodies before Redis, and the answer made of it.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "ingest/api.h"
#include "redis/connection.h"
#include "storage/id_source.h"
#include "storage/keys.h"
#include "storage/save_batcher.h"
#include "storage/scripts.h"
#include "storage/store.h"

namespace dmq::fuzz {

// check fails the run (a crash libFuzzer reports) when ok is false.
inline void check(bool ok, const char* what, std::string_view detail = {}) {
  if (ok) return;
  std::fprintf(stderr, "%s: %.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

// load_fixture returns the configuration the e2e tests use (tests/fixtures/seed-config).
inline config::settings load_fixture() {
  auto r = config::load(DMQ_SOURCE_DIR "/tests/fixtures/seed-config");
  if (!r.cfg) {
    for (const auto& p : r.problems) std::fprintf(stderr, "%s\n", p.to_string().c_str());
    std::abort();
  }
  return std::move(*r.cfg);
}

struct api_harness {
  boost::asio::io_context ioc;
  config::settings cfg = load_fixture();
  redis::connection conn{ioc.get_executor(), redis::options{}};
  storage::keys keys{"dmq"};
  storage::script_set scripts;
  storage::store store{
      conn, keys, scripts, std::chrono::hours(24 * cfg.msg_save_days), {0, 1, 1}};  // no retries
  storage::save_batcher saver{ioc.get_executor(), store};
  storage::id_source ids{ioc.get_executor(), conn, keys, scripts};
  std::optional<storage::redis_verdict> checks;
  ingest::api api{cfg, store, saver, ids, conn, checks};

  // post answers body POSTed to path from 127.0.0.1, as the server would.
  http::response post(std::string_view path, std::string_view body) {
    http::request req;
    req.method = "POST";
    req.target = std::string(path);
    req.body = std::string(body);
    req.content_type = "application/json";
    req.peer = util::ip_address{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
    req.peer_text = "127.0.0.1";
    std::optional<http::response> out;
    std::exception_ptr failed;
    boost::asio::co_spawn(ioc, api.handle(req), [&](std::exception_ptr e, http::response r) {
      failed = e;
      out = std::move(r);
    });
    ioc.run();
    ioc.restart();
    if (failed) std::rethrow_exception(failed);  // handle() never throws for bad input
    check(out.has_value(), "no answer", path);
    return std::move(*out);
  }
};

// check_envelope checks that resp is the API's envelope (valid UTF-8 JSON: Boost.JSON
// refuses invalid UTF-8), with HTTP status 200 and one of codes; returns it.
inline boost::json::object check_envelope(const http::response& resp,
                                          std::initializer_list<int> codes) {
  boost::system::error_code ec;
  auto v = boost::json::parse(resp.body, ec);
  check(!ec && v.is_object(), "not a JSON object", resp.body);
  auto& o = v.get_object();
  check(o.contains("code") && o.at("code").is_int64() && o.contains("message") &&
            o.at("message").is_string() && o.contains("data"),
        "not an envelope", resp.body);
  check(resp.status == 200, "not HTTP 200", resp.body);
  bool known = false;
  for (int c : codes) known = known || o.at("code").get_int64() == c;
  check(known, "an unexpected code", resp.body);
  return o;
}

}  // namespace dmq::fuzz
