#include "ingest/bulk_jobs.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

#include "util/crypto.h"
#include "util/spawn.h"

namespace asio = boost::asio;

namespace dmq::ingest {

namespace {

std::int64_t field_int(const storage::job& j, const std::string& name) {
  auto it = j.find(name);
  if (it == j.end()) return 0;
  try {
    return std::stoll(it->second);
  } catch (...) {
    return 0;
  }
}

// progress returns the fields a job's runner rewrites as it goes.
storage::job progress(std::int64_t processed, std::int64_t succeeded, std::int64_t now_ms) {
  return {{"processed", std::to_string(processed)},
          {"succeeded", std::to_string(succeeded)},
          {"updated_ms", std::to_string(now_ms)}};
}

// range returns the page of the failed list a job reads next.
storage::page_query range(const bulk_jobs::spec& s, const std::string& cursor, int limit) {
  storage::page_query q;
  q.min = s.start_s;
  q.max = s.end_s;
  q.cursor = cursor;
  q.limit = limit;
  q.cmd = s.cmd;
  return q;
}

// fresh returns a new job's fields.
storage::job fresh(const bulk_jobs::spec& s, std::int64_t total, std::int64_t now) {
  return {{"kind", s.kind},
          {"project", s.project},
          {"consumer", s.consumer},
          {"state", "running"},
          {"total", std::to_string(total)},
          {"processed", "0"},
          {"succeeded", "0"},
          {"rate", std::to_string(s.rate)},
          {"start", std::to_string(s.start_s)},
          {"end", std::to_string(s.end_s)},
          {"cmd", s.cmd},
          {"created_ms", std::to_string(now)},
          {"updated_ms", std::to_string(now)},
          {"error", ""}};
}

// ending returns the fields a job's runner writes last.
storage::job ending(std::int64_t processed, std::int64_t succeeded, std::int64_t now_ms,
                    const std::string& state, const std::string& error) {
  auto j = progress(processed, succeeded, now_ms);
  j["state"] = state;
  j["error"] = error;
  return j;
}

}  // namespace

asio::awaitable<storage::result<std::string>> bulk_jobs::start(const spec& s) {
  using R = storage::result<std::string>;
  auto now = store_.redis_clock().now_ms();
  auto q = range(s, "", 1);
  auto [ec, first] = co_await browse_.failed(s.project, s.consumer, q);
  if (ec) co_return R{ec, {}};
  auto id = util::to_hex(util::random_bytes(8));
  auto fields = fresh(s, first.count, now);
  if (auto e = co_await operate_.save_job(id, fields, now)) co_return R{e, {}};
  spdlog::info("job {}: {} of {}'s failed messages ({} of them, {}..{}) at {}/s", id, s.kind,
               s.consumer, first.count, s.start_s, s.end_s, s.rate);
  util::spawn(co_await asio::this_coro::executor, run(id, s, first.count), "bulk job");
  co_return R{std::error_code{}, std::move(id)};
}

asio::awaitable<bool> bulk_jobs::cancelled(const std::string& id) {
  auto [ec, j] = co_await operate_.load_job(id);
  co_return !ec && j && (*j)["state"] == "cancelled";
}

asio::awaitable<bulk_jobs::step_result> bulk_jobs::step(const std::string& id, const spec& s,
                                                        const std::string& cursor, int chunk,
                                                        std::int64_t room) {
  step_result out;
  if (co_await cancelled(id)) {
    out.state = "cancelled";
    co_return out;
  }
  auto q = range(s, cursor, chunk);
  auto [ec, page] = co_await browse_.failed(s.project, s.consumer, q);
  if (ec) {
    out.state = "failed";
    out.error = "reading the failed list: " + ec.message();
    co_return out;
  }
  std::vector<std::uint64_t> ids;
  for (const auto& e : page.list)
    if (static_cast<std::int64_t>(ids.size()) < room) ids.push_back(e.id);
  if (!ids.empty()) {
    storage::result<std::vector<bool>> done;
    if (s.kind == "replay")
      done = co_await store_.retry(s.project, s.consumer, ids);
    else
      done = co_await store_.solved(s.project, s.consumer, ids);
    if (done.first) {
      out.state = "failed";
      out.error = s.kind + ": " + done.first.message();
      co_return out;
    }
    out.processed = static_cast<std::int64_t>(ids.size());
    out.succeeded = std::count(done.second.begin(), done.second.end(), true);
  }
  out.cursor = page.next_cursor;
  if (out.cursor.empty() || out.processed >= room) out.state = "done";
  co_return out;
}

asio::awaitable<void> bulk_jobs::run(std::string id, spec s, std::int64_t total) {
  // Chunks of up to 100 ids, one every chunk/rate seconds: the rate holds on average and
  // Redis sees a few calls per second, not one per message.
  const int chunk = std::clamp(s.rate / 10, 1, 100);
  const auto period = std::chrono::microseconds(std::int64_t{1000000} * chunk / s.rate);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  std::int64_t processed = 0, succeeded = 0;
  step_result r;
  for (;;) {
    auto next = std::chrono::steady_clock::now() + period;
    r = co_await step(id, s, r.cursor, chunk, total - processed);
    processed += r.processed;
    succeeded += r.succeeded;
    if (!r.state.empty()) break;
    auto fields = progress(processed, succeeded, store_.redis_clock().now_ms());
    co_await operate_.save_job(id, fields);
    timer.expires_at(next);
    co_await timer.async_wait(asio::use_awaitable);
  }
  auto last = ending(processed, succeeded, store_.redis_clock().now_ms(), r.state, r.error);
  co_await operate_.save_job(id, last);
  spdlog::info("job {}: {} ({} processed, {} {}){}{}", id, r.state, processed, succeeded,
               s.kind == "replay" ? "requeued" : "solved", r.error.empty() ? "" : ": ", r.error);
}

storage::job bulk_jobs::view(storage::job j, std::int64_t now_ms) {
  if (j["state"] == "running" && now_ms - field_int(j, "updated_ms") > stale_ms)
    j["state"] = "interrupted";
  return j;
}

}  // namespace dmq::ingest
