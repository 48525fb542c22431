// GET /api/stats (api.h): per project and consumer, what waits, is due, is in flight, has
// failed, whether it is paused, how old its oldest due message is; and from the
// dispatchers' reports (keys::dispatcher) deliveries and failures per second over the last
// minute and the lateness of their starts.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <map>

#include "ingest/api.h"
#include "ingest/envelope.h"
#include "ingest/management.h"

namespace asio = boost::asio;
namespace json = boost::json;

namespace dmq::ingest {

namespace {

// reported: one consumer's figures summed over every dispatcher's latest report.
struct reported {
  std::int64_t in_flight = 0, delivered = 0, failed = 0;
  std::vector<double> edges_ms;      // lateness bucket upper bounds
  std::vector<std::int64_t> counts;  // per bucket (one more than edges: the overflow)
};

std::int64_t int_in(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (!v) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
  return 0;
}

// merge adds every report (JSON text) into by_consumer; a report dmq cannot read is skipped.
void merge(const std::vector<std::string>& reports, std::map<std::string, reported>& by_consumer) {
  for (const auto& text : reports) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object()) continue;
    auto* cs = v.get_object().if_contains("consumers");
    if (!cs || !cs->is_object()) continue;
    for (const auto& [name, x] : cs->get_object()) {
      if (!x.is_object()) continue;
      const auto& o = x.get_object();
      auto& r = by_consumer[std::string(name)];
      r.in_flight += int_in(o, "in_flight");
      r.delivered += int_in(o, "delivered_60s");
      r.failed += int_in(o, "failed_60s");
      auto* edges = o.if_contains("lateness_edges_ms");
      auto* counts = o.if_contains("lateness_buckets");
      if (!edges || !counts || !edges->is_array() || !counts->is_array()) continue;
      if (r.edges_ms.empty())
        for (const auto& e : edges->get_array()) r.edges_ms.push_back(e.to_number<double>());
      r.counts.resize(std::max(r.counts.size(), counts->get_array().size()), 0);
      std::size_t i = 0;
      for (const auto& n : counts->get_array()) r.counts[i++] += n.to_number<std::int64_t>();
    }
  }
}

// quantile returns the upper bound (ms) of the lateness bucket holding quantile q, as
// Prometheus's histogram_quantile would without interpolation; null if nothing started.
json::value quantile(const reported& r, double q) {
  std::int64_t total = 0;
  for (auto n : r.counts) total += n;
  if (total == 0 || r.edges_ms.empty()) return nullptr;
  auto want = static_cast<std::int64_t>(q * static_cast<double>(total) + 0.999999);
  std::int64_t seen = 0;
  for (std::size_t i = 0; i < r.counts.size(); ++i) {
    seen += r.counts[i];
    if (seen >= want) return i < r.edges_ms.size() ? r.edges_ms[i] : r.edges_ms.back();
  }
  return r.edges_ms.back();
}

}  // namespace

asio::awaitable<http::response> api::stats(http::request& req) {
  auto who_v = manager(req, cfg_);
  if (auto* r = std::get_if<http::response>(&who_v)) co_return std::move(*r);
  const auto& who = std::get<credential>(who_v);
  bool has_project = false;
  auto only = req.query_param("project", &has_project);
  if (has_project && !only.empty()) {
    if (!cfg_.find_producer(only))
      co_return fail(errc::unknown_producer, "project: not a producer in product_list");
    if (!may_manage(cfg_, only, who)) co_return not_allowed(only);
  }
  // Every consumer the caller may see.
  std::vector<std::pair<std::string_view, std::string_view>> consumers;
  std::vector<const config::command*> of;
  for (const auto& c : cfg_.commands) {
    if ((!only.empty() && c.project != only) || !may_manage(cfg_, c.project, who)) continue;
    for (const auto& name : c.consumer_names) {
      consumers.emplace_back(c.project, name);
      of.push_back(&c);
    }
  }
  auto now = store_.redis_clock().now_ms();
  auto [ec, counts] = co_await store_.queue_stats(consumers, now);
  if (ec) co_return reply(errc::read_failed, "get stats failed: " + ec.message(), nullptr);
  auto [ec2, oldest] = co_await browse_.oldest(consumers);
  if (ec2) co_return reply(errc::read_failed, "get stats failed: " + ec2.message(), nullptr);
  // Reports a dispatcher wrote within their lifetime count; an older one's writer is gone.
  auto [ec3, reports] = co_await browse_.reports(now - 10000);
  if (ec3) co_return reply(errc::read_failed, "get stats failed: " + ec3.message(), nullptr);
  std::map<std::string, reported> by_consumer;
  merge(reports, by_consumer);
  json::array projects;
  for (const auto& p : cfg_.producers) {
    if ((!only.empty() && p.project != only) || !may_manage(cfg_, p.project, who)) continue;
    auto [ec4, list] = co_await browse_.paused(p.project);
    if (ec4) co_return reply(errc::read_failed, "get stats failed: " + ec4.message(), nullptr);
    json::array cs;
    for (std::size_t i = 0; i < consumers.size() && i < counts.size(); ++i) {
      if (consumers[i].first != p.project) continue;
      std::string name(consumers[i].second);
      auto rep = by_consumer[name];
      const auto& q = counts[i];
      json::value since = nullptr;
      for (const auto& ps : list)
        if (ps.first == name) since = ps.second;
      json::value age = nullptr;
      if (i < oldest.size() && oldest[i] >= 0) age = oldest[i] <= now ? now - oldest[i] : 0;
      cs.push_back(json::object{
          {"consumer", name},
          {"cmd", of[i]->cmd},
          {"waiting", std::max<std::int64_t>(0, q.queued - rep.in_flight)},
          {"due", q.due},
          {"in_flight", rep.in_flight},
          {"failed", q.pending},
          {"paused", !since.is_null()},
          {"paused_since_ms", since},
          {"oldest_due_age_ms", q.due > 0 ? age : json::value(nullptr)},
          {"deliveries_per_s", static_cast<double>(rep.delivered) / 60.0},
          {"failures_per_s", static_cast<double>(rep.failed) / 60.0},
          {"lateness_p50_ms", quantile(rep, 0.5)},
          {"lateness_p99_ms", quantile(rep, 0.99)},
      });
    }
    projects.push_back(json::object{{"project", p.project}, {"consumers", std::move(cs)}});
  }
  co_return ok(json::object{{"at_ms", now},
                            {"dispatchers", static_cast<std::int64_t>(reports.size())},
                            {"projects", std::move(projects)}});
}

}  // namespace dmq::ingest
