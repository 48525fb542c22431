// The operators' reads (api.h): a message's attempt history, find by request_id or
// idempotency key, pages of a consumer's queue and failed list, and the events feed. Each
// for callers who may manage the project concerned (management.h).
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <limits>

#include "ingest/api.h"
#include "ingest/envelope.h"
#include "ingest/management.h"
#include "ingest/validate.h"

namespace asio = boost::asio;
namespace json = boost::json;

namespace dmq::ingest {

// attempt_json returns one history entry as JSON (it is stored as JSON text).
json::value attempt_json(const std::string& entry) {
  boost::system::error_code ec;
  auto v = json::parse(entry, ec);
  if (ec) return json::string(to_utf8(entry));
  return v;
}

namespace {

constexpr int max_page = 1000;

// page_params reads a page's cursor and limit query parameters into q; "" if they are
// good, else the refusal's text.
std::string page_params(const http::request& req, storage::page_query& q) {
  bool ok_limit = true;
  auto limit = query_int(req, "limit", 100, ok_limit);
  if (!ok_limit || *limit < 1 || *limit > max_page)
    return "limit: must be 1.." + std::to_string(max_page);
  q.limit = static_cast<int>(*limit);
  q.cursor = req.query_param("cursor");
  return {};
}

json::object page_json(const storage::page& p, bool with_details, std::string_view score_name) {
  json::array list;
  for (const auto& e : p.list) {
    json::object o{{"msg_id", std::to_string(e.id)}, {score_name, e.score}};
    if (with_details) {
      o["cmd"] = to_utf8(e.cmd);
      o["request_id"] = to_utf8(e.request_id);
    }
    list.push_back(std::move(o));
  }
  return {{"count", p.count}, {"list", std::move(list)}, {"next_cursor", p.next_cursor}};
}

// bad_cursor tells whether a store error is the caller's cursor.
bool bad_cursor(std::error_code ec) {
  return ec == std::errc::invalid_argument;
}

}  // namespace

asio::awaitable<http::response> api::attempts(http::request& req) {
  auto c = queried_consumer(req, cfg_);
  if (auto* r = std::get_if<http::response>(&c)) co_return std::move(*r);
  const auto& name = std::get<named_consumer>(c).name;
  auto id = parse_id_text(req.query_param("msg_id"));
  if (id == 0) co_return fail(errc::invalid, "msg_id: must be a positive integer message id");
  auto [ec, m] = co_await browse_.message(std::get<named_consumer>(c).ref.command->project, id);
  if (ec) co_return reply(errc::read_failed, "get attempts failed: " + ec.message(), nullptr);
  const storage::consumer_view* side = nullptr;
  if (m)
    for (const auto& cv : m->consumers)
      if (cv.consumer == name) side = &cv;
  if (!side)
    co_return reply(errc::message_failed,
                    "message not found for this consumer (unknown or expired)", nullptr);
  json::array history;
  for (const auto& e : side->history) history.push_back(attempt_json(e));
  co_return ok(json::object{{"msg_id", std::to_string(id)},
                            {"consumer", name},
                            {"status", side->status},
                            {"attempts", side->attempts},
                            {"history", std::move(history)}});
}

asio::awaitable<http::response> api::find(http::request& req) {
  auto who_v = manager(req, cfg_);
  if (auto* r = std::get_if<http::response>(&who_v)) co_return std::move(*r);
  bool has_project = false, has_rid = false, has_key = false;
  auto project = req.query_param("project", &has_project);
  auto rid = req.query_param("request_id", &has_rid);
  auto key = req.query_param("idempotency_key", &has_key);
  if (!has_project || project.empty()) co_return fail(errc::invalid, "project: is required");
  const auto* producer = cfg_.find_producer(project);
  if (!producer) co_return fail(errc::unknown_producer, "project: not a producer in product_list");
  if (!may_manage(cfg_, project, std::get<credential>(who_v))) co_return not_allowed(project);
  if ((has_rid && !rid.empty()) == (has_key && !key.empty()))
    co_return fail(errc::invalid, "request_id, idempotency_key: give exactly one");
  std::vector<std::uint64_t> ids;
  if (!rid.empty()) {
    if (!producer->find_index)
      co_return fail(errc::invalid, "request_id: project '" + project +
                                        "' keeps no find index (find_index: false)");
    auto [ec, found] = co_await browse_.find(project, rid);
    if (ec) co_return reply(errc::read_failed, "find failed: " + ec.message(), nullptr);
    ids = std::move(found);
  } else {
    auto [ec, id] = co_await browse_.find_key(project, key);
    if (ec) co_return reply(errc::read_failed, "find failed: " + ec.message(), nullptr);
    if (id) ids.push_back(id);
  }
  json::array out;
  for (auto id : ids) out.push_back(json::string(std::to_string(id)));
  co_return ok(json::object{{"project", project}, {"ids", std::move(out)}});
}

asio::awaitable<http::response> api::scheduled(http::request& req) {
  auto c = queried_consumer(req, cfg_);
  if (auto* r = std::get_if<http::response>(&c)) co_return std::move(*r);
  const auto& name = std::get<named_consumer>(c).name;
  storage::page_query q;
  bool ok_start = true, ok_end = true;
  auto start = query_int(req, "start_ms", 0, ok_start);
  auto end = query_int(req, "end_ms", std::numeric_limits<std::int64_t>::max() / 2, ok_end);
  if (!ok_start) co_return fail(errc::invalid, "start_ms: must be an integer (ms since the epoch)");
  if (!ok_end) co_return fail(errc::invalid, "end_ms: must be an integer (ms since the epoch)");
  if (auto why = page_params(req, q); !why.empty()) co_return fail(errc::invalid, why);
  q.min = *start;
  q.max = *end;
  auto [ec, p] =
      co_await browse_.scheduled(std::get<named_consumer>(c).ref.command->project, name, q);
  if (bad_cursor(ec)) co_return fail(errc::invalid, "cursor: not one this endpoint gave");
  if (ec) co_return reply(errc::read_failed, "get scheduled failed: " + ec.message(), nullptr);
  co_return ok(page_json(p, false, "due_ms"));
}

asio::awaitable<http::response> api::failed(http::request& req) {
  auto c = queried_consumer(req, cfg_);
  if (auto* r = std::get_if<http::response>(&c)) co_return std::move(*r);
  const auto& name = std::get<named_consumer>(c).name;
  storage::page_query q;
  bool ok_start = true, ok_end = true;
  auto start = query_int(req, "start", 0, ok_start);
  auto end = query_int(req, "end", std::numeric_limits<std::int64_t>::max() / 2000, ok_end);
  if (!ok_start) co_return fail(errc::invalid, "start: must be an integer (unix seconds)");
  if (!ok_end) co_return fail(errc::invalid, "end: must be an integer (unix seconds)");
  if (auto why = page_params(req, q); !why.empty()) co_return fail(errc::invalid, why);
  q.min = *start;
  q.max = *end;
  q.cmd = req.query_param("cmd");
  q.q = req.query_param("q");
  auto [ec, p] = co_await browse_.failed(std::get<named_consumer>(c).ref.command->project, name, q);
  if (bad_cursor(ec)) co_return fail(errc::invalid, "cursor: not one this endpoint gave");
  if (ec) co_return reply(errc::read_failed, "get failed list failed: " + ec.message(), nullptr);
  co_return ok(page_json(p, true, "timestamp"));
}

asio::awaitable<http::response> api::events(http::request& req) {
  auto who_v = manager(req, cfg_);
  if (auto* r = std::get_if<http::response>(&who_v)) co_return std::move(*r);
  const auto& who = std::get<credential>(who_v);
  bool ok_limit = true, has_consumer = false;
  auto limit = query_int(req, "limit", 100, ok_limit);
  if (!ok_limit || *limit < 1 || *limit > max_page)
    co_return fail(errc::invalid, "limit: must be 1.." + std::to_string(max_page));
  auto consumer = req.query_param("consumer", &has_consumer);
  if (has_consumer && !consumer.empty()) {
    auto c = managed_consumer(cfg_, who, consumer, true);
    if (auto* r = std::get_if<http::response>(&c)) co_return std::move(*r);
  }
  auto cursor = req.query_param("cursor");
  auto [ec, p] = co_await browse_.events(cursor, static_cast<int>(*limit));
  if (bad_cursor(ec)) co_return fail(errc::invalid, "cursor: not one this endpoint gave");
  if (ec) co_return reply(errc::read_failed, "get events failed: " + ec.message(), nullptr);
  json::array list;
  for (const auto& e : p.events) {
    json::object o{{"id", e.id}};
    for (const auto& f : e.fields) {
      auto name = f.first == "id" ? std::string("msg_id") : f.first;
      bool number =
          name == "t" || name == "attempt" || name == "http_status" || name == "duration_ms";
      if (number)
        o[name] = std::atoll(f.second.c_str());
      else
        o[name] = to_utf8(f.second);
    }
    // Only what the caller may see, and of the consumer asked for.
    auto* project = o.if_contains("project");
    if (!project || !project->is_string() || !may_manage(cfg_, project->get_string(), who))
      continue;
    if (!consumer.empty()) {
      auto* cv = o.if_contains("consumer");
      if (!cv || !cv->is_string() || cv->get_string() != consumer) continue;
    }
    list.push_back(std::move(o));
  }
  co_return ok(json::object{{"events", std::move(list)}, {"next_cursor", p.next_cursor}});
}

}  // namespace dmq::ingest
