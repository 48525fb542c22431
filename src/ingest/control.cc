// The operators' writes on messages and consumers (api.h): reschedule a message, pause and
// resume a consumer, for callers who may manage the project concerned (management.h).
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "ingest/api.h"
#include "ingest/envelope.h"
#include "ingest/json_body.h"
#include "ingest/management.h"
#include "ingest/validate.h"

namespace asio = boost::asio;
namespace json = boost::json;

namespace dmq::ingest {

namespace {

// int_of reads an optional integer field: nullopt if absent; why is set if it is not one.
std::optional<std::int64_t> int_of(const json::object& o, std::string_view name, std::string& why) {
  auto* v = o.if_contains(name);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v->get_uint64());
  why = std::string(name) + ": must be an integer";
  return std::nullopt;
}

// body_consumer reads {"consumer": NAME} and checks that who may manage its project.
std::variant<consumer_ref, http::response> body_consumer(const config::settings& cfg,
                                                         const http::request& req,
                                                         std::string& name) {
  auto who = manager(req, cfg);
  if (auto* r = std::get_if<http::response>(&who)) return std::move(*r);
  std::string why;
  auto v = parse_body(req.body, why, {});
  if (!v) return reply(errc::bad_json, why, nullptr);
  if (!v->is_object()) return fail(errc::bad_json, "body: must be a JSON object");
  auto* cv = v->get_object().if_contains("consumer");
  if (cv && !cv->is_string()) return fail(errc::invalid, "consumer: must be a string");
  name = cv ? std::string(cv->get_string()) : std::string();
  return managed_consumer(cfg, std::get<credential>(who), name, cv != nullptr);
}

}  // namespace

asio::awaitable<http::response> api::reschedule(http::request& req) {
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
  auto timestamp = int_of(o, "timestamp", why);
  auto due = int_of(o, "due_ms", why);
  auto delay = int_of(o, "delay_ms", why);
  if (!why.empty()) co_return fail(errc::invalid, why);
  if (!!timestamp + !!due + !!delay != 1)
    co_return fail(errc::invalid, "timestamp, due_ms, delay_ms: give exactly one");
  auto now = store_.redis_clock().now_ms();
  std::int64_t due_ms = 0;
  if (timestamp) {
    if (*timestamp < 0 || *timestamp > latest_timestamp)
      co_return fail(errc::invalid, "timestamp: must be unix seconds (0.." +
                                        std::to_string(latest_timestamp) + ")");
    due_ms = *timestamp * 1000;
  } else if (due) {
    if (*due < 0 || *due > latest_timestamp * 1000)
      co_return fail(errc::invalid, "due_ms: must be ms since the epoch, before year 10000");
    due_ms = *due;
  } else {
    if (*delay < 0 || *delay > latest_timestamp * 1000 - now)
      co_return fail(errc::invalid, "delay_ms: must be 0 or more, ending before year 10000");
    due_ms = now + *delay;
  }
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
    auto [ec, r] = co_await operate_.reschedule(p, id, due_ms);
    if (ec) co_return reply(errc::write_failed, "reschedule failed: " + ec.message(), nullptr);
    if (r == 1) co_return ok(json::object{{"msg_id", std::to_string(id)}, {"due_ms", due_ms}});
    if (r == -1)
      co_return reply(errc::cannot_cancel,
                      "cannot reschedule: a delivery of this message has started or it is settled",
                      false);
    if (r == -2)
      co_return reply(errc::cannot_cancel,
                      "cannot reschedule: its cmd is ordered (a bucket delivers by due time): "
                      "cancel it and send it again",
                      false);
  }
  co_return reply(errc::message_failed, "message not found (unknown or expired)", nullptr);
}

asio::awaitable<http::response> api::pause(http::request& req) {
  std::string name;
  auto c = body_consumer(cfg_, req, name);
  if (auto* r = std::get_if<http::response>(&c)) co_return std::move(*r);
  const auto& project = std::get<consumer_ref>(c).command->project;
  auto [ec, since] = co_await operate_.pause(project, name, store_.redis_clock().now_ms());
  if (ec) co_return reply(errc::write_failed, "pause failed: " + ec.message(), nullptr);
  co_return ok(json::object{{"consumer", name}, {"paused", true}, {"since_ms", since}});
}

asio::awaitable<http::response> api::resume(http::request& req) {
  std::string name;
  auto c = body_consumer(cfg_, req, name);
  if (auto* r = std::get_if<http::response>(&c)) co_return std::move(*r);
  const auto& project = std::get<consumer_ref>(c).command->project;
  auto [ec, was] = co_await operate_.resume(project, name);
  if (ec) co_return reply(errc::write_failed, "resume failed: " + ec.message(), nullptr);
  co_return ok(json::object{{"consumer", name}, {"paused", false}, {"was_paused", was}});
}

}  // namespace dmq::ingest
