// The management half of the API: status, detail, pending, solved, retry and cancel
// (api.h), each for callers who may manage the project concerned (access.h).
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <limits>
#include <optional>

#include "ingest/access.h"
#include "ingest/api.h"
#include "ingest/envelope.h"
#include "ingest/json_body.h"
#include "ingest/management.h"
#include "ingest/validate.h"

namespace asio = boost::asio;
namespace json = boost::json;

namespace dmq::ingest {

asio::awaitable<http::response> api::status(http::request& req) {
  auto c = queried_consumer(req, cfg_);
  if (auto* r = std::get_if<http::response>(&c)) co_return std::move(*r);
  const auto& name = std::get<named_consumer>(c).name;
  auto id = parse_id_text(req.query_param("msg_id"));
  if (id == 0) co_return fail(errc::invalid, "msg_id: must be a positive integer message id");
  auto [ec, st] =
      co_await store_.status(std::get<named_consumer>(c).ref.command->project, id, name);
  if (ec) co_return reply(errc::status_failed, "get status failed: " + ec.message(), false);
  co_return ok(json::string(st ? *st : "unknown"));
}

asio::awaitable<http::response> api::detail(http::request& req) {
  auto c = queried_consumer(req, cfg_);
  if (auto* r = std::get_if<http::response>(&c)) co_return std::move(*r);
  auto id = parse_id_text(req.query_param("msg_id"));
  if (id == 0) co_return fail(errc::invalid, "msg_id: must be a positive integer message id");
  auto [ec, view] = co_await browse_.message(std::get<named_consumer>(c).ref.command->project, id);
  if (ec) co_return reply(errc::message_failed, "get message failed: " + ec.message(), nullptr);
  // The data expires msg_save_days after the due time, the statuses twice as late.
  if (!view || view->rec.data_expire_at_ms <= store_.redis_clock().now_ms())
    co_return reply(errc::message_failed, "message not found (unknown or expired)", nullptr);
  const auto* m = &view->rec.msg;
  json::object data{{"id", m->id},
                    {"cmd", m->cmd},
                    {"timestamp", m->timestamp()},
                    {"params", m->params},
                    {"project", m->project},
                    {"bucket", m->bucket},
                    {"create_time", m->create_ms / 1000},
                    {"request_id", m->request_id},
                    {"due_ms", m->due_ms},
                    {"create_time_ms", m->create_ms}};
  // dmq's own: each consumer's side (issue 14): status, attempts, when it is next due, and
  // its latest attempt (the whole history: /api/message/attempts).
  json::array sides;
  for (const auto& cv : view->consumers)
    sides.push_back(
        json::object{{"consumer", cv.consumer},
                     {"status", cv.status},
                     {"attempts", cv.attempts},
                     {"next_attempt_ms",
                      cv.next_attempt_ms ? json::value(*cv.next_attempt_ms) : json::value(nullptr)},
                     {"last_attempt", cv.history.empty() ? json::value(nullptr)
                                                         : attempt_json(cv.history.back())}});
  data["consumers"] = std::move(sides);
  co_return ok(data);
}

asio::awaitable<http::response> api::pending(http::request& req) {
  auto c = queried_consumer(req, cfg_);
  if (auto* r = std::get_if<http::response>(&c)) co_return std::move(*r);
  const auto& name = std::get<named_consumer>(c).name;
  bool ok_start = true, ok_end = true, ok_limit = true;
  auto start = query_int(req, "start", 0, ok_start);
  auto end = query_int(req, "end", std::numeric_limits<std::int64_t>::max() / 1000, ok_end);
  auto limit = query_int(req, "limit", cfg_.limits.max_pending_list, ok_limit);
  if (!ok_start) co_return fail(errc::invalid, "start: must be an integer (unix seconds)");
  if (!ok_end) co_return fail(errc::invalid, "end: must be an integer (unix seconds)");
  if (!ok_limit || *limit < 1 || *limit > cfg_.limits.max_pending_list)
    co_return fail(errc::invalid,
                   "limit: must be 1.." + std::to_string(cfg_.limits.max_pending_list));
  auto [ec, page] = co_await store_.pending(std::get<named_consumer>(c).ref.command->project, name,
                                            *start, *end, static_cast<int>(*limit));
  if (ec) co_return reply(errc::pending_failed, "get pending failed: " + ec.message(), nullptr);
  json::array list;
  for (auto& e : page.list) list.push_back(json::object{{"Score", e.score}, {"Member", e.member}});
  co_return ok(json::object{{"count", page.count}, {"list", std::move(list)}});
}

// id_list: a body {"consumer": NAME, "msg_ids": [ID, ...]}, as /solved and /retry take it.
struct id_list {
  consumer_ref ref;
  std::string consumer;
  std::vector<std::uint64_t> ids;
};

// read_id_list parses and checks an id_list body, and that the caller may manage its
// consumer's project; the refusal to send back otherwise.
static std::variant<id_list, http::response> read_id_list(const config::settings& cfg,
                                                          const http::request& req) {
  auto who = manager(req, cfg);
  if (auto* r = std::get_if<http::response>(&who)) return std::move(*r);
  std::string why;
  auto v = parse_body(req.body, why, {});
  if (!v) return reply(errc::bad_json, why, nullptr);
  if (!v->is_object()) return fail(errc::bad_json, "body: must be a JSON object");
  const auto& o = v->get_object();
  auto* cv = o.if_contains("consumer");
  if (cv && !cv->is_string()) return fail(errc::invalid, "consumer: must be a string");
  id_list out;
  out.consumer = cv ? std::string(cv->get_string()) : std::string{};
  auto c = managed_consumer(cfg, std::get<credential>(who), out.consumer, cv != nullptr);
  if (auto* r = std::get_if<http::response>(&c)) return std::move(*r);
  out.ref = std::get<consumer_ref>(c);
  auto* ids_v = o.if_contains("msg_ids");
  if (!ids_v || !ids_v->is_array() || ids_v->get_array().empty())
    return fail(errc::invalid, "msg_ids: must be a non-empty array of message ids");
  const auto& arr = ids_v->get_array();
  if (arr.size() > static_cast<std::size_t>(cfg.limits.max_solved_ids))
    return fail(errc::invalid, "msg_ids: holds " + std::to_string(arr.size()) +
                                   " ids, the limit is " +
                                   std::to_string(cfg.limits.max_solved_ids));
  for (std::size_t i = 0; i < arr.size(); ++i) {
    auto id = parse_id(arr[i]);
    if (id == 0)
      return fail(errc::invalid,
                  "msg_ids[" + std::to_string(i) + "]: must be a positive integer message id");
    out.ids.push_back(id);
  }
  return out;
}

// id_map returns {"<id>": bool, ...}.
static json::object id_map(const std::vector<std::uint64_t>& ids, const std::vector<bool>& ok) {
  json::object data;
  for (std::size_t i = 0; i < ids.size() && i < ok.size(); ++i)
    data[std::to_string(ids[i])] = static_cast<bool>(ok[i]);
  return data;
}

asio::awaitable<http::response> api::solved(http::request& req) {
  auto in = read_id_list(cfg_, req);
  if (auto* r = std::get_if<http::response>(&in)) co_return std::move(*r);
  auto& l = std::get<id_list>(in);
  auto [ec, done] = co_await store_.solved(l.ref.command->project, l.consumer, l.ids);
  if (ec) co_return reply(errc::solved_failed, "solved failed: " + ec.message(), nullptr);
  co_return ok(id_map(l.ids, done));
}

asio::awaitable<http::response> api::retry(http::request& req) {
  auto in = read_id_list(cfg_, req);
  if (auto* r = std::get_if<http::response>(&in)) co_return std::move(*r);
  auto& l = std::get<id_list>(in);
  auto [ec, queued] = co_await store_.retry(l.ref.command->project, l.consumer, l.ids);
  if (ec) co_return reply(errc::retry_failed, "retry failed: " + ec.message(), nullptr);
  co_return ok(id_map(l.ids, queued));
}

asio::awaitable<http::response> api::cancel(http::request& req) {
  auto who_v = manager(req, cfg_);
  if (auto* r = std::get_if<http::response>(&who_v)) co_return std::move(*r);
  const auto& who = std::get<credential>(who_v);
  std::string why;
  json::monotonic_resource mr;  // outlives body
  auto body = parse_body(req.body, why, &mr);
  if (!body) co_return reply(errc::bad_json, why, nullptr);
  if (!body->is_object()) co_return fail(errc::bad_json, "body: must be a JSON object");
  const auto& o = body->get_object();
  auto* idv = o.if_contains("msg_id");
  auto id = idv ? parse_id(*idv) : 0;
  if (id == 0) co_return fail(errc::invalid, "msg_id: must be a positive integer message id");
  // Ids are unique across projects: look in each the caller may manage (or only in
  // "project" when given).
  std::vector<std::string> projects;
  if (auto* pv = o.if_contains("project")) {
    if (!pv->is_string() || !cfg_.find_producer(pv->get_string()))
      co_return fail(errc::unknown_producer, "project: not a producer in product_list");
    if (!may_manage(cfg_, pv->get_string(), who)) co_return not_allowed(pv->get_string());
    projects.emplace_back(pv->get_string());
  } else {
    projects = managed_projects(cfg_, who);
  }
  for (const auto& p : projects) {
    auto [ec, r] = co_await store_.cancel(p, id);
    if (ec) co_return reply(errc::cancel_failed, "cancel failed: " + ec.message(), nullptr);
    if (r == 1) co_return ok(true);
    if (r == -1)
      co_return reply(errc::cannot_cancel,
                      "cannot cancel: a delivery of this message has started or it is settled",
                      false);
  }
  co_return reply(errc::message_failed, "message not found (unknown or expired)", nullptr);
}

}  // namespace dmq::ingest
