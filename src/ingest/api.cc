#include "ingest/api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <limits>
#include <optional>

#include "ingest/access.h"
#include "ingest/envelope.h"
#include "ingest/validate.h"
#include "storage/redis_check.h"

namespace asio = boost::asio;
namespace json = boost::json;

namespace dmq::ingest {

namespace {

// parse_body parses a request body as JSON (UTF-8 checked); nullopt (and why) if it is not.
// The value's memory comes from sp: a monotonic_resource of the handler saves the
// allocation of every string, array and object of the body.
std::optional<json::value> parse_body(const std::string& body, std::string& why,
                                      json::storage_ptr sp) {
  unsigned char temp[512];  // the parser's own stack, for bodies not nested too deep
  json::stream_parser p({}, {}, temp);
  p.reset(std::move(sp));
  boost::system::error_code ec;
  auto used = p.write(body.data(), body.size(), ec);
  if (!ec) p.finish(ec);
  if (ec) {
    why = "invalid JSON at byte " + std::to_string(used) + ": " + ec.message();
    if (body.empty()) why = "invalid JSON: the body is empty";
    return std::nullopt;
  }
  return p.release();
}

struct consumer_ref {
  const config::command* command = nullptr;
  const config::consumer* consumer = nullptr;
};

// find_consumer reads the "consumer" query parameter or body field.
std::variant<consumer_ref, refusal> find_consumer(const config::settings& cfg,
                                                  const std::string& name, bool present) {
  if (!present || name.empty()) return refusal{errc::invalid, "consumer: is required"};
  auto [cmd, c] = cfg.find_consumer(name);
  if (!c) return refusal{errc::invalid, "consumer: '" + name + "' is not configured"};
  return consumer_ref{cmd, c};
}

// query_int reads an optional integer query parameter.
std::optional<std::int64_t> query_int(const http::request& req, std::string_view name,
                                      std::int64_t fallback, bool& ok) {
  bool present = false;
  auto text = req.query_param(name, &present);
  ok = true;
  if (!present || text.empty()) return fallback;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) {
    ok = false;
    return std::nullopt;
  }
  return v;
}

// not_allowed refuses a caller who may not manage what it asked for. It names the project
// (from the configuration), never whether the message asked for exists.
http::response not_allowed(std::string_view project) {
  return fail(errc::unknown_producer,
              "not allowed: this caller may not manage the messages of project '" +
                  std::string(project) + "' (its allow_ip or tokens, or admin)",
              403);
}

// manager returns the credential of a caller who may manage some project, or the refusal.
std::variant<credential, http::response> manager(const http::request& req,
                                                 const config::settings& cfg) {
  auto who = identify(req, cfg);
  if (auto* why = std::get_if<std::string>(&who)) return fail(errc::invalid, *why);
  auto& c = std::get<credential>(who);
  if (!is_admin(cfg, c) && managed_projects(cfg, c).empty())
    return fail(errc::unknown_producer,
                "not allowed: this caller may manage no project (a project's allow_ip or "
                "tokens, or admin)",
                403);
  return std::move(c);
}

// managed_consumer reads the consumer a management call names, and checks that who may
// manage its project; the refusal to send back otherwise.
std::variant<consumer_ref, http::response> managed_consumer(const config::settings& cfg,
                                                            const credential& who,
                                                            const std::string& name, bool present) {
  auto c = find_consumer(cfg, name, present);
  if (auto* r = std::get_if<refusal>(&c)) return fail(r->code, r->text);
  auto ref = std::get<consumer_ref>(c);
  if (!may_manage(cfg, ref.command->project, who)) return not_allowed(ref.command->project);
  return ref;
}

}  // namespace

api::api(const config::settings& cfg, storage::store& store, storage::save_batcher& saver,
         storage::id_source& ids, redis::connection& conn,
         const std::optional<storage::redis_verdict>& checks)
    : cfg_(cfg), store_(store), saver_(saver), ids_(ids), conn_(conn), checks_(checks) {}

// answer is an awaitable of a response already made.
static asio::awaitable<http::response> answer(http::response r) {
  co_return r;
}

const api::route api::routes_[8] = {
    {"/api/message/single", "POST", &api::single},  {"/api/message/batch", "POST", &api::batch},
    {"/api/message/status", "GET", &api::status},   {"/api/message/detail", "GET", &api::detail},
    {"/api/message/pending", "GET", &api::pending}, {"/api/message/solved", "POST", &api::solved},
    {"/api/message/retry", "POST", &api::retry},    {"/api/message/cancel", "POST", &api::cancel},
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
  for (const auto& r : routes_) {
    if (r.path != path) continue;
    if (req.method != r.method)
      return answer(fail(errc::method_not_allowed,
                         std::string(path) + ": use " + std::string(r.method), 405));
    return (this->*r.fn)(req);
  }
  return answer(fail(errc::not_found, "no such path: " + std::string(path), 404));
}

void api::count_into(util::metrics& m) {
  metrics_ = &m;
  auto add_path = [&](std::string_view path) {
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

// to_store: the accepted messages given ids, as the save batcher takes them.
struct to_store {
  std::vector<storage::to_save> batch;
  std::vector<std::size_t> where;      // of each in the accepted messages
  std::vector<std::uint64_t> same_as;  // of each: the id first saved with its idempotency key
};

// give_ids assigns ids to the accepted messages; those without one (no id lease: Redis has
// been unreachable) are left out, and reported as not saved.
static to_store give_ids(std::vector<accepted>& items, storage::id_source& ids) {
  to_store out;
  out.same_as.assign(items.size(), 0);  // never reallocated: batch points into it
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto id = ids.next();
    if (!id) continue;
    items[i].msg.id = *id;
    out.batch.push_back({&items[i].msg, items[i].command->consumer_names, items[i].command->ordered,
                         items[i].producer->idempotency_window_ms, &out.same_as[out.batch.size()]});
    out.where.push_back(i);
  }
  if (out.batch.size() < items.size())
    spdlog::warn("save: {} messages refused: {}", items.size() - out.batch.size(), ids.why_not());
  return out;
}

// saved returns, per accepted message, its id or json false when saving failed.
static std::vector<json::value> saved(std::size_t n, const to_store& s,
                                      const std::vector<std::error_code>& errors) {
  std::vector<json::value> out(n, json::value(false));
  for (std::size_t k = 0; k < s.batch.size(); ++k) {
    if (errors[k]) {
      spdlog::error("save: message {} not saved: {}", s.batch[k].msg->id, errors[k].message());
      continue;
    }
    auto first = s.same_as[k];  // not stored: a message with its idempotency key was
    out[s.where[k]] = first ? first : s.batch[k].msg->id;
  }
  return out;
}

// overloaded says whether a save was refused whole because too many saves wait for
// Redis (storage::save_batcher): nothing of the request was stored.
static bool overloaded(const std::vector<std::error_code>& errors) {
  return !errors.empty() && errors[0] == storage::errc::overloaded;
}

// overload_answer: 503 with Retry-After, so that producers back off instead of queueing
// without bound in dmq.
static http::response overload_answer(std::error_code why) {
  auto r = reply(errc::overloaded, "not saved: " + why.message(), false, 503);
  r.retry_after_s = 1;
  return r;
}

// The bodies of /single and /batch are parsed and checked by plain functions, not in the
// handlers' coroutines: the JSON is read into an arena on this thread's stack (no heap
// allocation for a small body) that is gone before the handler waits for Redis.
constexpr std::size_t body_arena_bytes = 4096;

// read_single returns the message of a /single body, or the answer refusing it.
static std::variant<accepted, http::response> read_single(const http::request& req,
                                                          const config::settings& cfg,
                                                          std::int64_t now_ms) {
  unsigned char arena[body_arena_bytes];
  json::monotonic_resource mr(arena, sizeof arena);
  std::string why;
  auto body = parse_body(req.body, why, &mr);
  if (!body) return reply(errc::bad_json, why, nullptr);
  auto who = identify(req, cfg);
  if (auto* why = std::get_if<std::string>(&who)) return fail(errc::invalid, *why);
  auto v = validate_message(*body, cfg, std::get<credential>(who), now_ms, req.idempotency_key);
  if (auto* r = std::get_if<refusal>(&v)) return fail(r->code, r->text);
  return std::move(std::get<accepted>(v));
}

asio::awaitable<http::response> api::single(http::request& req) {
  auto in = read_single(req, cfg_, store_.redis_clock().now_ms());
  if (auto* r = std::get_if<http::response>(&in)) co_return std::move(*r);
  std::vector<accepted> items{std::move(std::get<accepted>(in))};
  auto s = give_ids(items, ids_);
  std::vector<std::error_code> errors;
  if (!s.batch.empty()) errors = co_await saver_.save(s.batch, asio::use_awaitable);
  if (overloaded(errors)) co_return overload_answer(errors[0]);
  auto result = saved(items.size(), s, errors);
  if (metrics_) count_save(items[0].msg.project, items[0].msg.id, result[0]);
  if (result[0].is_bool()) {
    std::string why = s.batch.empty() ? ids_.why_not() : errors[0].message();
    co_return reply(errc::save_failed, "redis save failed: " + why, false);
  }
  co_return ok(result[0]);
}

// batch_in: the messages of a /batch body that passed the checks, and the answer's data
// with the refusals already in place.
struct batch_in {
  std::vector<accepted> items;
  std::vector<std::size_t> where;  // of each item in data
  json::array data;
};

// read_batch returns the messages of a /batch body, or the answer refusing it whole.
static std::variant<batch_in, http::response> read_batch(const http::request& req,
                                                         const config::settings& cfg,
                                                         std::int64_t now_ms) {
  unsigned char arena[body_arena_bytes];
  json::monotonic_resource mr(arena, sizeof arena);
  std::string why;
  auto body = parse_body(req.body, why, &mr);
  if (!body) return reply(errc::bad_json, why, nullptr);
  if (!body->is_array()) return fail(errc::bad_json, "batch: body must be a JSON array");
  const auto& arr = body->get_array();
  if (arr.empty()) return fail(errc::invalid, "batch: must hold at least one message");
  if (arr.size() > static_cast<std::size_t>(cfg.limits.max_batch_items))
    return fail(errc::invalid, "batch: holds " + std::to_string(arr.size()) +
                                   " messages, the limit is " +
                                   std::to_string(cfg.limits.max_batch_items));
  auto who_v = identify(req, cfg);
  if (auto* why = std::get_if<std::string>(&who_v)) return fail(errc::invalid, *why);
  const auto& who = std::get<credential>(who_v);

  batch_in out;
  out.data = json::array(arr.size());
  for (std::size_t i = 0; i < arr.size(); ++i) {
    auto v = validate_message(arr[i], cfg, who, now_ms);
    if (auto* r = std::get_if<refusal>(&v)) {
      out.data[i] = json::string(r->text);
      continue;
    }
    out.items.push_back(std::move(std::get<accepted>(v)));
    out.where.push_back(i);
  }
  return out;
}

asio::awaitable<http::response> api::batch(http::request& req) {
  auto in = read_batch(req, cfg_, store_.redis_clock().now_ms());
  if (auto* r = std::get_if<http::response>(&in)) co_return std::move(*r);
  auto& b = std::get<batch_in>(in);
  auto s = give_ids(b.items, ids_);
  std::vector<std::error_code> errors;
  if (!s.batch.empty()) errors = co_await saver_.save(s.batch, asio::use_awaitable);
  if (overloaded(errors)) co_return overload_answer(errors[0]);
  auto result = saved(b.items.size(), s, errors);
  if (metrics_)
    for (std::size_t k = 0; k < b.items.size(); ++k)
      count_save(b.items[k].msg.project, b.items[k].msg.id, result[k]);
  for (std::size_t k = 0; k < b.items.size(); ++k) b.data[b.where[k]] = result[k];
  co_return ok(b.data);
}

asio::awaitable<http::response> api::status(http::request& req) {
  auto who = manager(req, cfg_);
  if (auto* r = std::get_if<http::response>(&who)) co_return std::move(*r);
  bool present = false;
  auto name = req.query_param("consumer", &present);
  auto c = managed_consumer(cfg_, std::get<credential>(who), name, present);
  if (auto* r = std::get_if<http::response>(&c)) co_return std::move(*r);
  auto id = parse_id_text(req.query_param("msg_id"));
  if (id == 0) co_return fail(errc::invalid, "msg_id: must be a positive integer message id");
  auto [ec, st] = co_await store_.status(std::get<consumer_ref>(c).command->project, id, name);
  if (ec) co_return reply(errc::status_failed, "get status failed: " + ec.message(), false);
  co_return ok(json::string(st ? *st : "unknown"));
}

asio::awaitable<http::response> api::detail(http::request& req) {
  auto who = manager(req, cfg_);
  if (auto* r = std::get_if<http::response>(&who)) co_return std::move(*r);
  bool present = false;
  auto name = req.query_param("consumer", &present);
  auto c = managed_consumer(cfg_, std::get<credential>(who), name, present);
  if (auto* r = std::get_if<http::response>(&c)) co_return std::move(*r);
  auto id = parse_id_text(req.query_param("msg_id"));
  if (id == 0) co_return fail(errc::invalid, "msg_id: must be a positive integer message id");
  auto [ec, m] = co_await store_.detail(std::get<consumer_ref>(c).command->project, id);
  if (ec) co_return reply(errc::message_failed, "get message failed: " + ec.message(), nullptr);
  if (!m) co_return reply(errc::message_failed, "message not found (unknown or expired)", nullptr);
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
  co_return ok(data);
}

asio::awaitable<http::response> api::pending(http::request& req) {
  auto who = manager(req, cfg_);
  if (auto* r = std::get_if<http::response>(&who)) co_return std::move(*r);
  bool present = false;
  auto name = req.query_param("consumer", &present);
  auto c = managed_consumer(cfg_, std::get<credential>(who), name, present);
  if (auto* r = std::get_if<http::response>(&c)) co_return std::move(*r);
  bool ok_start = true, ok_end = true, ok_limit = true;
  auto start = query_int(req, "start", 0, ok_start);
  auto end = query_int(req, "end", std::numeric_limits<std::int64_t>::max() / 1000, ok_end);
  auto limit = query_int(req, "limit", cfg_.limits.max_pending_list, ok_limit);
  if (!ok_start) co_return fail(errc::invalid, "start: must be an integer (unix seconds)");
  if (!ok_end) co_return fail(errc::invalid, "end: must be an integer (unix seconds)");
  if (!ok_limit || *limit < 1 || *limit > cfg_.limits.max_pending_list)
    co_return fail(errc::invalid,
                   "limit: must be 1.." + std::to_string(cfg_.limits.max_pending_list));
  auto [ec, page] = co_await store_.pending(std::get<consumer_ref>(c).command->project, name,
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
