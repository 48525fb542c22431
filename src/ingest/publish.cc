// The producers' half of the API: /single and /batch (api.h).
#include <spdlog/spdlog.h>

#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/value.hpp>

#include "ingest/access.h"
#include "ingest/api.h"
#include "ingest/envelope.h"
#include "ingest/json_body.h"
#include "ingest/validate.h"

namespace asio = boost::asio;
namespace json = boost::json;

namespace dmq::ingest {

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
                         items[i].producer->idempotency_window_ms, &out.same_as[out.batch.size()],
                         items[i].producer->find_index});
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
  if (auto* bad = std::get_if<std::string>(&who)) return fail(errc::invalid, *bad);
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

}  // namespace dmq::ingest
