// api: the producers' HTTP API (the seed's "client"): routes each request to its handler
// and answers in the seed's envelope. Endpoints and error codes: README.md, "API".
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/fwd.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "http/message.h"
#include "ingest/bulk_jobs.h"
#include "redis/connection.h"
#include "storage/browse.h"
#include "storage/id_source.h"
#include "storage/operate.h"
#include "storage/redis_check.h"
#include "storage/save_batcher.h"
#include "storage/store.h"
#include "util/metrics.h"

namespace dmq::ingest {

class api {
 public:
  // checks: the verdict on the Redis's settings at the latest (re)connect
  // (storage/redis_check.h), nullopt before the first; /healthz shows it.
  api(const config::settings& cfg, storage::store& store, storage::save_batcher& saver,
      storage::id_source& ids, redis::client& conn,
      const std::optional<storage::redis_verdict>& checks);

  // handle answers one request; it never throws for bad input.
  boost::asio::awaitable<http::response> handle(http::request& req);

  // count_into registers the API's metrics in m (docs/metrics.md); observe() and the
  // saves count into them from then on.
  void count_into(util::metrics& m);
  // observe counts an answer made by handle() (the HTTP server's observe hook).
  void observe(const http::request& req, const http::response& resp, double seconds);
  // serve_metrics makes GET /metrics answer with page().
  void serve_metrics(std::function<boost::asio::awaitable<http::response>()> page) {
    metrics_page_ = std::move(page);
  }
  // routes returns the (method, path) of each route (openapi.cc): docs/openapi.json must
  // describe them all (tests/e2e/openapi_test.cc).
  static std::vector<std::pair<std::string_view, std::string_view>> routes();

 private:
  boost::asio::awaitable<http::response> single(http::request& req);
  boost::asio::awaitable<http::response> batch(http::request& req);
  boost::asio::awaitable<http::response> status(http::request& req);
  boost::asio::awaitable<http::response> detail(http::request& req);
  boost::asio::awaitable<http::response> pending(http::request& req);
  boost::asio::awaitable<http::response> solved(http::request& req);
  boost::asio::awaitable<http::response> retry(http::request& req);
  boost::asio::awaitable<http::response> cancel(http::request& req);
  // The operators' endpoints (issue 14): inspect.cc, stats.cc, control.cc, jobs.cc.
  boost::asio::awaitable<http::response> attempts(http::request& req);
  boost::asio::awaitable<http::response> find(http::request& req);
  boost::asio::awaitable<http::response> scheduled(http::request& req);
  boost::asio::awaitable<http::response> failed(http::request& req);
  boost::asio::awaitable<http::response> events(http::request& req);
  boost::asio::awaitable<http::response> stats(http::request& req);
  boost::asio::awaitable<http::response> reschedule(http::request& req);
  boost::asio::awaitable<http::response> pause(http::request& req);
  boost::asio::awaitable<http::response> resume(http::request& req);
  boost::asio::awaitable<http::response> create_job(http::request& req);
  boost::asio::awaitable<http::response> get_jobs(http::request& req);
  boost::asio::awaitable<http::response> cancel_job(http::request& req);
  http::response healthz() const;
  static http::response openapi(const http::request& req);  // openapi.cc

  struct route {
    std::string_view path;
    std::string_view method;
    boost::asio::awaitable<http::response> (api::*fn)(http::request&);
  };
  static const std::vector<route> routes_;  // api.cc

  // path_stats: the metrics of one path (those of the routes, /healthz, /metrics, other).
  struct path_stats {
    std::string_view path;
    util::histogram* duration;
    std::vector<std::pair<int, std::uint64_t*>> by_status;  // made at a status's first answer
  };
  // project_stats: messages of one project that were saved, that were not, and that were
  // not stored because a message with their idempotency key was.
  struct project_stats {
    std::string_view project;
    std::uint64_t* saved;
    std::uint64_t* not_saved;
    std::uint64_t* deduplicated;
  };
  // count_save counts one accepted message of project (own_id), given its answer: false
  // (not saved), its own id (saved) or another's (deduplicated).
  void count_save(std::string_view project, std::uint64_t own_id, const boost::json::value& answer);

  const config::settings& cfg_;
  util::metrics* metrics_ = nullptr;
  std::vector<path_stats> paths_;
  std::vector<project_stats> projects_;
  std::function<boost::asio::awaitable<http::response>()> metrics_page_;
  storage::store& store_;
  storage::browse browse_;
  storage::operate operate_;
  bulk_jobs jobs_;
  storage::save_batcher& saver_;
  storage::id_source& ids_;
  redis::client& conn_;
  const std::optional<storage::redis_verdict>& checks_;
};

}  // namespace dmq::ingest
