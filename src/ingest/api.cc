#include "ingest/api.h"

#include <algorithm>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "ingest/access.h"
#include "ingest/envelope.h"
#include "ingest/ui.h"
#include "storage/redis_check.h"

namespace asio = boost::asio;
namespace json = boost::json;

namespace dmq::ingest {

api::api(const config::settings& cfg, storage::store& store, storage::save_batcher& saver,
         storage::id_source& ids, redis::client& conn,
         const std::optional<storage::redis_verdict>& checks)
    : cfg_(cfg),
      store_(store),
      browse_(store),
      operate_(store),
      jobs_(store, browse_, operate_),
      saver_(saver),
      ids_(ids),
      conn_(conn),
      checks_(checks) {}

// answer is an awaitable of a response already made.
static asio::awaitable<http::response> answer(http::response r) {
  co_return r;
}

const std::vector<api::route> api::routes_ = {
    {"/api/message/single", "POST", &api::single},
    {"/api/message/batch", "POST", &api::batch},
    {"/api/message/status", "GET", &api::status},
    {"/api/message/detail", "GET", &api::detail},
    {"/api/message/pending", "GET", &api::pending},
    {"/api/message/solved", "POST", &api::solved},
    {"/api/message/retry", "POST", &api::retry},
    {"/api/message/cancel", "POST", &api::cancel},
    {"/api/message/attempts", "GET", &api::attempts},
    {"/api/message/find", "GET", &api::find},
    {"/api/message/scheduled", "GET", &api::scheduled},
    {"/api/message/failed", "GET", &api::failed},
    {"/api/message/reschedule", "POST", &api::reschedule},
    {"/api/consumer/pause", "POST", &api::pause},
    {"/api/consumer/resume", "POST", &api::resume},
    {"/api/jobs", "GET", &api::get_jobs},
    {"/api/jobs", "POST", &api::create_job},
    {"/api/jobs/cancel", "POST", &api::cancel_job},
    {"/api/stats", "GET", &api::stats},
    {"/api/events", "GET", &api::events},
};

// handle is not a coroutine itself: it returns the handler's, one frame fewer per request.
asio::awaitable<http::response> api::handle(http::request& req) {
  auto path = req.path();
  if (path == "/healthz") {
    if (req.method != "GET" && req.method != "HEAD")
      return answer(fail(errc::method_not_allowed, "/healthz: use GET", 405));
    return answer(healthz());
  }
  if (path == "/metrics" && metrics_page_) {
    if (req.method != "GET" && req.method != "HEAD")
      return answer(fail(errc::method_not_allowed, "/metrics: use GET", 405));
    if (auto refused = metrics_refusal(req, cfg_)) return answer(std::move(*refused));
    return metrics_page_();
  }
  if (is_ui_path(path)) return answer(serve_ui(req));
  if (path == "/api/openapi.json") return answer(openapi(req));
  std::string methods;  // of path, for a 405 (a path may take GET and POST: /api/jobs)
  for (const auto& r : routes_) {
    if (r.path != path) continue;
    if (req.method == r.method) return (this->*r.fn)(req);
    methods += methods.empty() ? std::string(r.method) : " or " + std::string(r.method);
  }
  if (!methods.empty())
    return answer(fail(errc::method_not_allowed, std::string(path) + ": use " + methods, 405));
  return answer(fail(errc::not_found, "no such path: " + std::string(path), 404));
}

void api::count_into(util::metrics& m) {
  metrics_ = &m;
  auto add_path = [&](std::string_view path) {
    for (const auto& p : paths_)
      if (p.path == path) return;  // one series per path, whatever its methods
    paths_.push_back({path,
                      &m.histo("dmq_http_request_duration_seconds",
                               "Time from a request read whole to its answer made (the save "
                               "included), by path.",
                               util::latency_buckets, {{"path", path}}),
                      {}});
  };
  for (const auto& r : routes_) add_path(r.path);
  add_path("/healthz");
  add_path("/metrics");
  add_path("other");  // any other path: one series for all, so the label stays bounded
  for (const auto& p : cfg_.producers)
    projects_.push_back(
        {p.project,
         &m.counter("dmq_messages_saved_total", "Messages stored in Redis, by project.",
                    {{"project", p.project}}),
         &m.counter("dmq_messages_not_saved_total",
                    "Accepted messages that could not be stored (Redis down or failing): the "
                    "producer was told false.",
                    {{"project", p.project}}),
         &m.counter("dmq_messages_deduplicated_total",
                    "Accepted messages not stored because a message with their idempotency key "
                    "was, within the project's idempotency_window: answered with its id.",
                    {{"project", p.project}})});
}

void api::observe(const http::request& req, const http::response& resp, double seconds) {
  if (!metrics_) return;
  auto path = req.path();
  auto it = std::find_if(paths_.begin(), paths_.end() - 1,
                         [&](const path_stats& p) { return p.path == path; });
  auto& p = *it;  // the last, "other", when none matched
  p.duration->observe(seconds);
  for (auto& [status, n] : p.by_status)
    if (status == resp.status) {
      ++*n;
      return;
    }
  auto code = std::to_string(resp.status);
  auto& n = metrics_->counter("dmq_http_requests_total", "Requests answered, by path and status.",
                              {{"path", p.path}, {"status", code}});
  p.by_status.emplace_back(resp.status, &n);
  ++n;
}

void api::count_save(std::string_view project, std::uint64_t own_id, const json::value& answer) {
  for (auto& p : projects_)
    if (p.project == project) {
      bool own = answer.is_number() && answer.to_number<std::uint64_t>() == own_id;
      ++*(answer.is_bool() ? p.not_saved : own ? p.saved : p.deduplicated);
      return;
    }
}

http::response api::healthz() const {
  json::object data{{"redis", conn_.ready() ? "up" : "down"}, {"id_node", ids_.node()}};
  // The settings of the Redis, as checked at the latest (re)connect (storage/redis_check.h).
  const auto& check = checks_;
  if (check) data["redis_checks"] = check->to_json();
  if (check && check->refused())
    return reply(errc::unhealthy, "redis refused: " + check->refusal_text(), data, 503);
  if (!conn_.ready())
    return reply(errc::unhealthy, "redis is down: " + conn_.why_down(), data, 503);
  if (!ids_.ready()) return reply(errc::unhealthy, ids_.why_not(), data, 503);
  return ok(data);
}

}  // namespace dmq::ingest
