#include "storage/operate.h"

#include <spdlog/spdlog.h>

#include "storage/wake.h"

namespace asio = boost::asio;

namespace dmq::storage {

namespace {

std::error_code first_error(std::error_code ec, const redis::replies& r) {
  if (ec) return ec;
  for (const auto& x : r)
    if (x.is_error()) {
      spdlog::error("redis: {}", x.str);
      return make_error_code(redis::errc::server_error);
    }
  return {};
}

}  // namespace

asio::awaitable<result<int>> operate::reschedule(std::string_view project, std::uint64_t id,
                                                 std::int64_t due_ms) {
  auto data_ttl = store_.status_ttl_ms() / 2;   // the record lives twice the data's time
  std::vector<std::vector<std::string>> calls;  // each shard: 0 where the message is not
  for (const auto& t : keys_.tags(project))
    calls.push_back({keys_.message(t, id), keys_.base(t), std::to_string(id),
                     std::to_string(due_ms), std::to_string(data_ttl),
                     std::to_string(store_.status_ttl_ms()), keys_.wake_channel(t)});
  auto [ec, r] = co_await store_.run_scripts("reschedule-1", 1, calls);
  if (auto e = first_error(ec, r)) co_return result<int>{e, 0};
  int got = 0;
  for (const auto& x : r)
    if (x.integer != 0) got = static_cast<int>(x.integer);
  co_return result<int>{{}, got};
}

asio::awaitable<result<std::int64_t>> operate::pause(std::string_view project,
                                                     std::string_view consumer,
                                                     std::int64_t now_ms) {
  // Every shard's claims look at their own paused key: all are written (shard 0 first: the
  // one read back and listed).
  redis::command cmd;
  for (const auto& t : keys_.tags(project)) {
    auto key = keys_.paused(t);
    cmd.push("HSETNX", key, consumer, std::to_string(now_ms));
    cmd.push("HGET", key, consumer);
    // A wake-up, so a dispatcher sleeping until its queue's next due time claims now, is
    // told it is paused, and shows it (dmq_consumer_paused) at once.
    cmd.push(keys_.publish(), keys_.wake_channel(t), wake_message(consumer, 0));
  }
  auto [ec, r] = co_await store_.exec(cmd);
  if (auto e = first_error(ec, r)) co_return result<std::int64_t>{e, 0};
  co_return result<std::int64_t>{{}, r[1].as_int().value_or(now_ms)};
}

asio::awaitable<result<bool>> operate::resume(std::string_view project, std::string_view consumer) {
  redis::command cmd;
  for (const auto& t : keys_.tags(project)) {
    cmd.push("HDEL", keys_.paused(t), consumer);
    // "<consumer> 0": due at once, so a dispatcher waiting for this consumer looks now.
    cmd.push(keys_.publish(), keys_.wake_channel(t), wake_message(consumer, 0));
  }
  auto [ec, r] = co_await store_.exec(cmd);
  if (auto e = first_error(ec, r)) co_return result<bool>{e, false};
  co_return result<bool>{{}, r[0].integer == 1};
}

asio::awaitable<std::error_code> operate::save_job(std::string_view id, const job& fields,
                                                   std::int64_t created_ms) {
  auto key = keys_.job(id);
  redis::command cmd;
  cmd.begin(2 + 2 * fields.size()).arg("HSET").arg(key);
  for (const auto& f : fields) cmd.arg(f.first).arg(f.second);
  cmd.push("PEXPIRE", key, std::to_string(job_ttl_ms));
  if (created_ms > 0) {
    cmd.push("ZADD", keys_.jobs(), std::to_string(created_ms), id);
    cmd.push("ZREMRANGEBYRANK", keys_.jobs(), "0", std::to_string(-max_jobs - 1));
  }
  auto [ec, r] = co_await store_.exec(cmd);
  co_return first_error(ec, r);
}

asio::awaitable<result<std::optional<job>>> operate::load_job(std::string_view id) {
  using R = result<std::optional<job>>;
  redis::command cmd;
  cmd.push("HGETALL", keys_.job(id));
  auto [ec, r] = co_await store_.exec(cmd);
  if (auto e = first_error(ec, r)) co_return R{e, std::nullopt};
  const auto& f = r[0].elements;
  if (f.empty()) co_return R{{}, std::nullopt};
  job j;
  for (std::size_t i = 0; i + 1 < f.size(); i += 2) j[f[i].str] = f[i + 1].str;
  co_return R{std::error_code{}, std::move(j)};
}

asio::awaitable<result<std::vector<std::string>>> operate::jobs(int max) {
  using V = std::vector<std::string>;
  redis::command cmd;
  cmd.push("ZRANGE", keys_.jobs(), "0", std::to_string(max - 1), "REV");
  auto [ec, r] = co_await store_.exec(cmd);
  if (auto e = first_error(ec, r)) co_return result<V>{e, {}};
  V out;
  for (const auto& x : r[0].elements) out.push_back(x.str);
  co_return result<V>{std::error_code{}, std::move(out)};
}

}  // namespace dmq::storage
