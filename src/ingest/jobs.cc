// The bulk jobs' endpoints (api.h): start a replay or solve of a consumer's failed
// messages, read jobs, cancel one (bulk_jobs.h runs them).
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <limits>

#include "ingest/api.h"
#include "ingest/envelope.h"
#include "ingest/json_body.h"
#include "ingest/management.h"

namespace asio = boost::asio;
namespace json = boost::json;

namespace dmq::ingest {

namespace {

// job_json shows a job's fields, numbers as numbers.
json::object job_json(const std::string& id, const storage::job& j) {
  json::object o{{"job_id", id}};
  for (const auto& [k, v] : j) {
    bool number = k == "total" || k == "processed" || k == "succeeded" || k == "rate" ||
                  k == "start" || k == "end" || k == "created_ms" || k == "updated_ms";
    if (number)
      o[k] = std::atoll(v.c_str());
    else
      o[k] = v;
  }
  return o;
}

bool valid_job_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

asio::awaitable<http::response> api::create_job(http::request& req) {
  auto who_v = manager(req, cfg_);
  if (auto* r = std::get_if<http::response>(&who_v)) co_return std::move(*r);
  std::string why;
  auto v = parse_body(req.body, why, {});
  if (!v) co_return reply(errc::bad_json, why, nullptr);
  if (!v->is_object()) co_return fail(errc::bad_json, "body: must be a JSON object");
  const auto& o = v->get_object();
  bulk_jobs::spec s;
  auto* kind = o.if_contains("kind");
  if (!kind || !kind->is_string() ||
      (kind->get_string() != "replay" && kind->get_string() != "solve"))
    co_return fail(errc::invalid, "kind: must be \"replay\" or \"solve\"");
  s.kind = kind->get_string();
  auto* cv = o.if_contains("consumer");
  if (cv && !cv->is_string()) co_return fail(errc::invalid, "consumer: must be a string");
  s.consumer = cv ? std::string(cv->get_string()) : std::string();
  auto c = managed_consumer(cfg_, std::get<credential>(who_v), s.consumer, cv != nullptr);
  if (auto* r = std::get_if<http::response>(&c)) co_return std::move(*r);
  s.project = std::get<consumer_ref>(c).command->project;
  auto number = [&](std::string_view name, std::int64_t fallback, std::int64_t lo, std::int64_t hi,
                    std::int64_t& out) -> std::string {
    auto* x = o.if_contains(name);
    if (!x) {
      out = fallback;
      return {};
    }
    if (!x->is_int64() || x->get_int64() < lo || x->get_int64() > hi)
      return std::string(name) + ": must be an integer " + std::to_string(lo) + ".." +
             std::to_string(hi);
    out = x->get_int64();
    return {};
  };
  std::int64_t rate = 0;
  constexpr std::int64_t far = std::numeric_limits<std::int64_t>::max() / 2000;
  auto bad = number("start", 0, 0, far, s.start_s);
  if (bad.empty()) bad = number("end", far, 0, far, s.end_s);
  if (bad.empty()) bad = number("rate", 200, 1, bulk_jobs::max_rate, rate);
  if (!bad.empty()) co_return fail(errc::invalid, bad);
  if (s.end_s < s.start_s) co_return fail(errc::invalid, "end: must not be before start");
  if (auto* cmd = o.if_contains("cmd")) {
    if (!cmd->is_string()) co_return fail(errc::invalid, "cmd: must be a string");
    s.cmd = cmd->get_string();
  }
  s.rate = static_cast<int>(rate);
  auto [ec, id] = co_await jobs_.start(s);
  if (ec) co_return reply(errc::write_failed, "job not started: " + ec.message(), nullptr);
  co_return ok(json::object{{"job_id", id}});
}

asio::awaitable<http::response> api::get_jobs(http::request& req) {
  auto who_v = manager(req, cfg_);
  if (auto* r = std::get_if<http::response>(&who_v)) co_return std::move(*r);
  const auto& who = std::get<credential>(who_v);
  bool has_id = false;
  auto id = req.query_param("id", &has_id);
  auto now = store_.redis_clock().now_ms();
  if (has_id) {
    if (!valid_job_id(id)) co_return fail(errc::invalid, "id: must be a job id (hex)");
    auto [ec, j] = co_await operate_.load_job(id);
    if (ec) co_return reply(errc::read_failed, "get job failed: " + ec.message(), nullptr);
    // A job of a project the caller may not manage reads as unknown: ids say nothing.
    if (!j || !may_manage(cfg_, (*j)["project"], who))
      co_return reply(errc::message_failed, "job not found (unknown or expired)", nullptr);
    co_return ok(job_json(id, bulk_jobs::view(std::move(*j), now)));
  }
  auto [ec, ids] = co_await operate_.jobs(storage::operate::max_jobs);
  if (ec) co_return reply(errc::read_failed, "get jobs failed: " + ec.message(), nullptr);
  json::array list;
  for (const auto& jid : ids) {
    auto [ec2, j] = co_await operate_.load_job(jid);
    if (ec2) co_return reply(errc::read_failed, "get jobs failed: " + ec2.message(), nullptr);
    if (j && may_manage(cfg_, (*j)["project"], who))
      list.push_back(job_json(jid, bulk_jobs::view(std::move(*j), now)));
  }
  co_return ok(json::object{{"jobs", std::move(list)}});
}

asio::awaitable<http::response> api::cancel_job(http::request& req) {
  auto who_v = manager(req, cfg_);
  if (auto* r = std::get_if<http::response>(&who_v)) co_return std::move(*r);
  std::string why;
  auto v = parse_body(req.body, why, {});
  if (!v) co_return reply(errc::bad_json, why, nullptr);
  if (!v->is_object()) co_return fail(errc::bad_json, "body: must be a JSON object");
  auto* idv = v->get_object().if_contains("job_id");
  if (!idv || !idv->is_string() || !valid_job_id(idv->get_string()))
    co_return fail(errc::invalid, "job_id: must be a job id (hex)");
  std::string id(idv->get_string());
  auto [ec, j] = co_await operate_.load_job(id);
  if (ec) co_return reply(errc::read_failed, "get job failed: " + ec.message(), nullptr);
  if (!j || !may_manage(cfg_, (*j)["project"], std::get<credential>(who_v)))
    co_return reply(errc::message_failed, "job not found (unknown or expired)", nullptr);
  auto state = (*j)["state"];
  if (state == "running") {
    // The runner reads the state before each chunk and stops there.
    storage::job cancelled{{"state", "cancelled"}};
    if (auto e = co_await operate_.save_job(id, cancelled))
      co_return reply(errc::write_failed, "cancel failed: " + e.message(), nullptr);
    state = "cancelled";
  }
  co_return ok(json::object{{"job_id", id}, {"state", state}});
}

}  // namespace dmq::ingest
