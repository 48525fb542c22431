#include "storage/browse.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "redis/connection.h"

namespace asio = boost::asio;

namespace dmq::storage {

namespace {

std::error_code server_error() {
  return make_error_code(redis::errc::server_error);
}

// first_error returns the transport error, or server_error for the first error reply.
std::error_code first_error(std::error_code ec, const redis::replies& r) {
  if (ec) return ec;
  for (const auto& x : r)
    if (x.is_error()) {
      spdlog::error("redis: {}", x.str);
      return server_error();
    }
  return {};
}

template <class T>
result<T> fail(std::error_code ec) {
  return {ec, T{}};
}

template <class T>
result<T> ok(T v) {
  return {std::error_code{}, std::move(v)};
}

std::int64_t to_int(const std::string& s) {
  std::int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

std::uint64_t to_id(const std::string& s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() ? v : 0;
}

// split_cursor reads a page cursor "<score>:<id>" (page-1.lua's next cscore and cmember).
bool split_cursor(std::string_view c, std::string& score, std::string& member) {
  auto colon = c.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == c.size()) return false;
  auto s = c.substr(0, colon), m = c.substr(colon + 1);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || to_id(std::string(m)) == 0) return false;
  score = s;
  member = m;
  return true;
}

// split_entries reads the history field of <base>a:<id>: JSON entries joined by "\n".
std::vector<std::string> split_entries(const std::string& s) {
  std::vector<std::string> out;
  std::size_t from = 0;
  while (from < s.size()) {
    auto nl = s.find('\n', from);
    if (nl == std::string::npos) nl = s.size();
    if (nl > from) out.push_back(s.substr(from, nl - from));
    from = nl + 1;
  }
  return out;
}

// sides_query asks for each consumer's queue score of a message and for its history.
// (Not in the coroutine: GCC 12 then warns falsely.)
redis::command sides_query(const keys& k, std::string_view project, std::uint64_t id,
                           const record& rec) {
  redis::command cmd;
  for (const auto& c : rec.consumers)
    cmd.push("ZSCORE", k.queue(project, c.name), std::to_string(id));
  cmd.push("HGETALL", k.attempts(project, id));
  return cmd;
}

// sides reads sides_query's answer into a message_view.
message_view sides(record rec, const redis::replies& r) {
  message_view v;
  const auto& history = r.back().elements;
  for (std::size_t i = 0; i < rec.consumers.size(); ++i) {
    const auto& c = rec.consumers[i];
    consumer_view cv{c.name, c.status, c.attempts, std::nullopt, {}};
    if (!r[i].is_nil()) cv.next_attempt_ms = to_int(r[i].str);
    for (std::size_t h = 0; h + 1 < history.size(); h += 2)
      if (history[h].str == c.name) cv.history = split_entries(history[h + 1].str);
    v.consumers.push_back(std::move(cv));
  }
  v.rec = std::move(rec);
  return v;
}

// position: where an entry stands in a page's order, (score, id as Redis orders members:
// by their bytes).
struct position {
  std::int64_t score = 0;
  std::string member;
  bool operator<(const position& o) const {
    return score != o.score ? score < o.score : member < o.member;  // std::string: bytes
  }
  bool operator<=(const position& o) const { return !(o < *this); }
};

std::optional<position> cursor_position(std::string_view c) {
  std::string score, member;
  if (!split_cursor(c, score, member)) return std::nullopt;
  return position{to_int(score), member};
}

}  // namespace

page merge_pages(std::vector<page> shards, int limit) {
  if (shards.size() == 1) return std::move(shards[0]);
  page out;
  std::vector<std::pair<position, page_entry>> all;
  // Entries past a shard's own next cursor are not known yet for the other shards: the
  // merged page stops at the lowest of them.
  std::optional<position> frontier;
  for (auto& p : shards) {
    out.count += p.count;
    for (auto& e : p.list) all.emplace_back(position{e.score, std::to_string(e.id)}, std::move(e));
    if (auto c = cursor_position(p.next_cursor); c && (!frontier || *c < *frontier))
      frontier = std::move(c);
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::size_t n = 0;
  while (n < all.size() && std::cmp_less(n, limit) && (!frontier || all[n].first <= *frontier)) ++n;
  for (std::size_t i = 0; i < n; ++i) out.list.push_back(std::move(all[i].second));
  const bool full = std::cmp_greater_equal(n, limit);
  if (full && (n < all.size() || frontier))
    out.next_cursor = std::to_string(all[n - 1].first.score) + ":" + all[n - 1].first.member;
  else if (frontier)
    out.next_cursor = std::to_string(frontier->score) + ":" + frontier->member;
  return out;
}

asio::awaitable<result<std::optional<message_view>>> browse::message(std::string_view project,
                                                                     std::uint64_t id) {
  using R = result<std::optional<message_view>>;
  std::string tag;  // the shard holding it
  auto [ec, rec] = co_await store_.load(project, id, &tag);
  if (ec) co_return fail<std::optional<message_view>>(ec);
  if (!rec) co_return R{{}, std::nullopt};
  // One round trip for the rest: each consumer's queue score, and the history.
  auto [ec2, r] = co_await store_.exec(sides_query(keys_, tag, id, *rec));
  if (auto e = first_error(ec2, r)) co_return fail<std::optional<message_view>>(e);
  co_return R{{}, sides(std::move(*rec), r)};
}

asio::awaitable<result<std::vector<std::uint64_t>>> browse::find(std::string_view project,
                                                                 std::string_view rid) {
  using V = std::vector<std::uint64_t>;
  auto tags = keys_.tags(project);  // each shard has the index of its own messages
  redis::command cmd;
  for (const auto& t : tags) cmd.push("SMEMBERS", keys_.find_index(t, rid));
  auto [ec, r] = co_await store_.exec(cmd);
  if (auto e = first_error(ec, r)) co_return fail<V>(e);
  std::vector<std::pair<std::uint64_t, std::size_t>> ids;  // id, its shard
  for (std::size_t s = 0; s < r.size() && s < tags.size(); ++s)
    for (const auto& x : r[s].elements)
      if (auto id = to_id(x.str)) ids.emplace_back(id, s);
  std::sort(ids.begin(), ids.end());  // ids grow with creation time
  V out;
  if (ids.empty()) co_return ok(std::move(out));
  // Only messages whose record lives (not one revoked, not one expired before its index).
  redis::command exists;
  for (auto [id, s] : ids) exists.push("STRLEN", keys_.message(tags[s], id));
  auto [ec2, r2] = co_await store_.exec(exists);
  if (auto e = first_error(ec2, r2)) co_return fail<V>(e);
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (r2[i].integer > 0) out.push_back(ids[i].first);
  co_return ok(std::move(out));
}

asio::awaitable<result<std::uint64_t>> browse::find_key(std::string_view project,
                                                        std::string_view key) {
  redis::command cmd;  // an ordered command's message: in its bucket's shard, so ask all
  for (const auto& t : keys_.tags(project)) cmd.push("GET", keys_.idempotency(t, key));
  auto [ec, r] = co_await store_.exec(cmd);
  if (auto e = first_error(ec, r)) co_return fail<std::uint64_t>(e);
  for (const auto& x : r)
    if (!x.is_nil()) co_return ok(to_id(x.str));
  co_return ok(std::uint64_t{0});
}

asio::awaitable<result<page>> browse::scheduled(std::string_view project, std::string_view consumer,
                                                page_query q) {
  return read_page(project, consumer, "q", std::move(q));
}

asio::awaitable<result<page>> browse::failed(std::string_view project, std::string_view consumer,
                                             page_query q) {
  return read_page(project, consumer, "pending", std::move(q));
}

asio::awaitable<result<page>> browse::read_page(std::string_view project, std::string_view consumer,
                                                std::string_view list, page_query q) {
  std::string cscore, cmember;
  if (!q.cursor.empty() && !split_cursor(q.cursor, cscore, cmember))
    co_return fail<page>(std::make_error_code(std::errc::invalid_argument));
  // A filter reads records: look at no more than 5,000 entries per call, so Redis stays
  // responsive; the cursor goes on from there. Each shard answers a page from the same
  // cursor (a position, not an offset), and merge_pages makes one of them.
  std::vector<std::vector<std::string>> calls;
  for (const auto& t : keys_.tags(project))
    calls.push_back({list == "q" ? keys_.queue(t, consumer) : keys_.pending(t, consumer),
                     keys_.base(t), std::to_string(q.min), std::to_string(q.max), cscore, cmember,
                     std::to_string(q.limit), q.cmd, q.q, "5000"});
  auto [ec, r] = co_await store_.run_scripts("page-1", 1, calls);
  if (auto e = first_error(ec, r)) co_return fail<page>(e);
  std::vector<page> pages;
  for (const auto& x : r) {
    page p;
    if (x.elements.size() < 4) co_return fail<page>(server_error());
    p.count = x.elements[0].integer;
    const auto& items = x.elements[1].elements;
    for (std::size_t i = 0; i + 3 < items.size(); i += 4)
      p.list.push_back(
          {to_id(items[i].str), to_int(items[i + 1].str), items[i + 2].str, items[i + 3].str});
    if (!x.elements[2].str.empty()) p.next_cursor = x.elements[2].str + ":" + x.elements[3].str;
    pages.push_back(std::move(p));
  }
  co_return ok(merge_pages(std::move(pages), q.limit));
}

asio::awaitable<result<std::vector<std::pair<std::string, std::int64_t>>>> browse::paused(
    std::string_view project) {
  using V = std::vector<std::pair<std::string, std::int64_t>>;
  redis::command cmd;
  cmd.push("HGETALL", keys_.paused(project));
  auto [ec, r] = co_await store_.exec(cmd);
  if (auto e = first_error(ec, r)) co_return fail<V>(e);
  V out;
  const auto& f = r[0].elements;
  for (std::size_t i = 0; i + 1 < f.size(); i += 2)
    out.emplace_back(f[i].str, to_int(f[i + 1].str));
  co_return ok(std::move(out));
}

asio::awaitable<result<std::vector<std::int64_t>>> browse::oldest(
    std::span<const std::pair<std::string_view, std::string_view>> consumers) {
  using V = std::vector<std::int64_t>;
  if (consumers.empty()) co_return ok(V{});
  redis::command cmd;
  std::vector<std::size_t> shards;  // per consumer
  for (const auto& pc : consumers) {
    auto tags = keys_.tags(pc.first);
    shards.push_back(tags.size());
    for (const auto& t : tags)
      cmd.push("ZRANGE", keys_.queue(t, pc.second), "0", "0", "WITHSCORES");
  }
  auto [ec, r] = co_await store_.exec(cmd);
  if (auto e = first_error(ec, r)) co_return fail<V>(e);
  V out;
  std::size_t i = 0;
  for (auto n : shards) {  // the earliest over the consumer's shards
    std::int64_t first = -1;
    for (std::size_t s = 0; s < n && i < r.size(); ++s, ++i)
      if (r[i].elements.size() >= 2) {
        auto score = to_int(r[i].elements[1].str);
        if (first < 0 || score < first) first = score;
      }
    out.push_back(first);
  }
  co_return ok(std::move(out));
}

asio::awaitable<result<std::vector<std::string>>> browse::reports(std::int64_t since_ms) {
  using V = std::vector<std::string>;
  redis::command cmd;
  cmd.push("ZRANGE", keys_.dispatchers(), std::to_string(since_ms), "+inf", "BYSCORE");
  auto [ec, r] = co_await store_.exec(cmd);
  if (auto e = first_error(ec, r)) co_return fail<V>(e);
  V out;
  if (r[0].elements.empty()) co_return ok(std::move(out));
  redis::command get;
  get.begin(1 + r[0].elements.size()).arg("MGET");
  for (const auto& x : r[0].elements) get.arg(keys_.dispatcher(x.str));
  auto [ec2, r2] = co_await store_.exec(get);
  if (auto e = first_error(ec2, r2)) co_return fail<V>(e);
  for (const auto& x : r2[0].elements)
    if (!x.is_nil()) out.push_back(x.str);
  co_return ok(std::move(out));
}

asio::awaitable<result<event_page>> browse::events(std::string_view cursor, int limit) {
  redis::command cmd;
  cmd.push("SET", keys_.tail(), "1", "PX", std::to_string(tail_ttl_ms));
  if (cursor.empty())
    cmd.push("XREVRANGE", keys_.events(), "+", "-", "COUNT", "1");
  else
    cmd.push("XRANGE", keys_.events(), "(" + std::string(cursor), "+", "COUNT",
             std::to_string(limit));
  auto [ec, r] = co_await store_.exec(cmd);
  if (ec) co_return fail<event_page>(ec);
  if (r.size() < 2 || r[0].is_error()) co_return fail<event_page>(server_error());
  // A cursor that is no stream id is the caller's mistake.
  if (r[1].is_error())
    co_return fail<event_page>(std::make_error_code(std::errc::invalid_argument));
  event_page p;
  p.next_cursor = cursor.empty() ? "0-0" : std::string(cursor);
  for (const auto& e : r[1].elements) {
    if (e.elements.size() < 2) continue;
    p.next_cursor = e.elements[0].str;
    if (cursor.empty()) break;  // only the position of the end
    event ev{e.elements[0].str, {}};
    const auto& f = e.elements[1].elements;
    for (std::size_t i = 0; i + 1 < f.size(); i += 2)
      ev.fields.emplace_back(f[i].str, f[i + 1].str);
    p.events.push_back(std::move(ev));
  }
  co_return ok(std::move(p));
}

}  // namespace dmq::storage
