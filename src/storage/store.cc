#include "storage/store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <iterator>
#include <limits>
#include <map>

#include "storage/id_source.h"
#include "storage/wake.h"
#include "util/spawn.h"

namespace asio = boost::asio;

namespace dmq::storage {

namespace {

std::error_code server_error() {
  return make_error_code(redis::errc::server_error);
}

// first_error returns the transport error, or server_error if the reply is an error.
// is_oom says whether an error reply is Redis's refusal at maxmemory.
bool is_oom(const redis::reply& x) {
  return x.is_error() && x.str.starts_with("OOM");
}

// first_error returns the transport error, or an error for the first error reply:
// out_of_memory for Redis's OOM refusal, else server_error.
std::error_code first_error(std::error_code ec, const redis::replies& r) {
  if (ec) return ec;
  for (const auto& x : r)
    if (x.is_error()) {
      spdlog::error("redis: {}", x.str);
      return is_oom(x) ? make_error_code(redis::errc::out_of_memory) : server_error();
    }
  return {};
}

// ok returns a successful result holding v (moved: a braced {{}, v} would copy it).
template <class T>
result<T> ok(T v) {
  return {std::error_code{}, std::move(v)};
}

std::int64_t to_int(const std::string& s) {
  redis::reply r{redis::reply::kind::string, 0, s, {}};
  return r.as_int().value_or(0);
}

// any_per_id answers per id whether any shard's script answered 1 for it (solved-1,
// retry-2: an array of 0/1 per id each).
result<std::vector<bool>> any_per_id(std::error_code ec, const redis::replies& r, std::size_t n) {
  if (auto e = first_error(ec, r)) return {e, {}};
  std::vector<bool> out(n, false);
  for (const auto& shard : r)
    for (std::size_t i = 0; i < n && i < shard.elements.size(); ++i)
      if (shard.elements[i].integer == 1) out[i] = true;
  return {std::error_code{}, std::move(out)};
}

// by_project names each queue's project rather than its shard (keys::project_of) and adds
// up the shards of one consumer.
std::vector<store::queue_size> by_project(const keys& k, std::vector<store::queue_size> in) {
  std::vector<store::queue_size> out;
  for (auto& q : in) {
    q.project = std::string(k.project_of(q.project));
    auto it = std::find_if(out.begin(), out.end(), [&](const store::queue_size& o) {
      return o.project == q.project && o.consumer == q.consumer;
    });
    if (it == out.end())
      out.push_back(std::move(q));
    else
      it->size += q.size;
  }
  return out;
}

// parse_claim reads claim-1's answer into b; false if it is not one.
bool parse_claim(const redis::reply& r, claim_batch& b) {
  const auto& e = r.elements;
  if (e.size() < 4 || (e.size() - 4) % 7 != 0 || !e[2].is_array()) return false;
  b.next_due_ms = to_int(e[0].str);
  if (b.next_due_ms == -2) {  // paused (claim-1.lua)
    b.paused = true;
    b.next_due_ms = -1;
  }
  b.lease_until = e[1].as_int().value_or(0);
  b.redis_us = e[3].as_int().value_or(0);
  for (std::size_t i = 0; i + 1 < e[2].elements.size(); i += 2)
    b.dropped.push_back(
        {static_cast<std::uint64_t>(to_int(e[2].elements[i].str)), e[2].elements[i + 1].str});
  b.items.reserve((e.size() - 4) / 7);
  for (std::size_t i = 4; i + 6 < e.size(); i += 7) {
    claimed c;
    c.id = static_cast<std::uint64_t>(to_int(e[i].str));
    c.attempt = static_cast<int>(e[i + 1].as_int().value_or(1));
    c.due_ms = to_int(e[i + 2].str);
    c.params = e[i + 3].str;
    c.request_id = e[i + 4].str;
    c.bucket = e[i + 5].str;
    c.queued_ms = to_int(e[i + 6].str);
    b.items.push_back(std::move(c));
  }
  return true;
}

// merge_pending makes one page of the shards' answers (ZCARD, ZRANGE ... WITHSCORES per
// shard): the sum of their sizes and the first limit entries by (score, id).
pending_page merge_pending(const redis::replies& r, std::size_t limit) {
  pending_page page;
  for (std::size_t s = 0; s + 1 < r.size(); s += 2) {
    page.count += r[s].integer;
    const auto& items = r[s + 1].elements;
    for (std::size_t i = 0; i + 1 < items.size(); i += 2)
      page.list.push_back({to_int(items[i + 1].str), items[i].str});
  }
  if (r.size() > 2)  // one shard's list is in order already
    std::sort(page.list.begin(), page.list.end(), [](const auto& a, const auto& b) {
      return std::tie(a.score, a.member) < std::tie(b.score, b.member);
    });
  if (page.list.size() > limit) page.list.resize(limit);
  return page;
}

// tag_of returns the shard m is stored in (keys::shard_of).
std::string tag_of(const keys& k, const to_save& m) {
  const auto& msg = *m.msg;
  return k.tag(msg.project, k.shard_of(msg.project, msg.id, m.ordered ? msg.bucket : "",
                                       m.keyed() ? msg.idempotency_key : ""));
}

// save_call: what store::save sends Redis for one chunk of at most max_per_script messages
// of one project. Messages of ordered commands, and those with an idempotency key, go to
// save-1 (EVALSHA, and after NOSCRIPT again with EVAL: idempotent, the ids are fixed).
// The others are one transaction of native commands, no script:
//   MULTI, SET NX of each record, per queue ZRANGE q 0 0 WITHSCORES (its earliest entry
//   before this save) and one variadic ZADD NX, EXEC
// NX makes the call idempotent: sent again (a retry after a broken connection), it resets
// no record and no queue entry; a record that exists (or a tombstone, settle-1.lua) stays.
// and after EXEC a PUBLISH on the wake channel for each queue whose earliest due time
// moved earlier (wakes()).
struct save_call {
  std::string tag;                 // the project's shard the messages go to (keys::tag)
  std::vector<std::size_t> items;  // indexes into the messages saved
  bool ordered = false;            // a save-1 call (ordered or keyed messages)
  std::size_t numkeys = 0;
  std::vector<std::string> args;  // ordered: save-1's KEYS then ARGV
  struct set {
    std::string key, record, expire_at_ms;
  };
  struct queue {
    std::string key;
    std::string_view consumer;
    std::int64_t min_due;            // the earliest due time of the messages added
    std::vector<std::string> pairs;  // ZADD's score, member, score, member...
  };
  struct index {
    std::string key, id, expire_at_ms;
  };
  std::vector<set> sets;       // unordered only
  std::vector<queue> queues;   // unordered only
  std::vector<index> indexes;  // unordered only: find index entries (3 commands each)

  // new_queues adds the queue keys of this call not in done (done_ordered: of its ordered
  // messages) to fresh (fresh_ordered).
  void new_queues(std::span<const to_save> msgs, const std::set<std::string>& done,
                  const std::set<std::string>& done_ordered, std::vector<std::string>& fresh,
                  std::vector<std::string>& fresh_ordered) const {
    std::vector<std::string_view> keys;
    for (std::size_t i = 0; ordered && i < numkeys; ++i) keys.push_back(args[i]);
    for (const auto& q : queues) keys.push_back(q.key);
    bool any_ordered =
        std::any_of(items.begin(), items.end(), [&](auto i) { return msgs[i].ordered; });
    auto add = [](std::string_view k, const std::set<std::string>& d, std::vector<std::string>& f) {
      if (!d.count(std::string(k)) && std::find(f.begin(), f.end(), k) == f.end())
        f.emplace_back(k);
    };
    for (auto k : keys) {
      add(k, done, fresh);
      if (any_ordered) add(k, done_ordered, fresh_ordered);
    }
  }

  std::size_t replies() const {
    return ordered ? 1 : 2 + sets.size() + 2 * queues.size() + 3 * indexes.size();
  }

  void append(redis::command& cmd, const script& save_1, bool eval) const {
    if (ordered)
      return eval ? save_1.call_eval(cmd, numkeys, args) : save_1.call(cmd, numkeys, args);
    cmd.push("MULTI");
    for (const auto& x : sets) cmd.push("SET", x.key, x.record, "NX", "PXAT", x.expire_at_ms);
    for (const auto& q : queues) cmd.push("ZRANGE", q.key, "0", "0", "WITHSCORES");
    for (const auto& q : queues) {
      cmd.begin(3 + q.pairs.size()).arg("ZADD").arg(q.key).arg("NX");
      for (const auto& a : q.pairs) cmd.arg(a);
    }
    // The index lives as long as its latest record: NX sets a new key's expiry, GT moves
    // it later (a non-volatile key counts as infinite for GT, hence both).
    for (const auto& x : indexes) {
      cmd.push("SADD", x.key, x.id);
      cmd.push("PEXPIREAT", x.key, x.expire_at_ms, "NX");
      cmd.push("PEXPIREAT", x.key, x.expire_at_ms, "GT");
    }
    cmd.push("EXEC");
  }

  // failure returns the call's error reply (nullptr if it succeeded), given its last reply:
  // save-1's own, or the EXEC's (EXECABORT, or an array of the commands' replies; nil if
  // the transaction was aborted, which dmq never asks for: no WATCH).
  static const redis::reply* failure(const redis::reply& last) {
    if (last.is_nil()) return &last;
    if (!last.is_array()) return last.is_error() ? &last : nullptr;
    for (const auto& x : last.elements)
      if (x.is_error()) return &x;
    return nullptr;
  }

  // wakes appends, given a successful EXEC's reply, a PUBLISH "<consumer> <min_due>" for
  // each queue that was empty or whose earliest entry was later than this save's earliest.
  void wakes(const redis::reply& exec, std::string_view verb, const std::string& channel,
             redis::command& out) const {
    if (ordered) return;  // save-1 publishes itself
    for (std::size_t q = 0; q < queues.size(); ++q) {
      auto at = sets.size() + q;  // its ZRANGE's reply: [member, score], or [] if it was empty
      if (at >= exec.elements.size() || exec.elements[at].elements.size() < 2 ||
          queues[q].min_due < to_int(exec.elements[at].elements[1].str))
        out.push(verb, channel, wake_message(queues[q].consumer, queues[q].min_due));
    }
  }
};

// note_duplicates reads save-1's answer (per message: 1, 0, or the id of the message first
// saved with its idempotency key) into the to_save's same_as.
void note_duplicates(std::span<const to_save> msgs, const std::vector<std::size_t>& items,
                     const redis::reply& answer) {
  for (std::size_t j = 0; j < items.size() && j < answer.elements.size(); ++j) {
    const auto& x = answer.elements[j];
    if (x.type == redis::reply::kind::string && msgs[items[j]].same_as)
      *msgs[items[j]].same_as = static_cast<std::uint64_t>(to_int(x.str));
  }
}

// plan_save splits msgs into calls: one per shard (keys::tag), kind (ordered or not) and
// chunk of store::max_per_script messages. (Not in the coroutine: GCC 12 then warns falsely.)
std::vector<save_call> plan_save(std::span<const to_save> msgs, const keys& k,
                                 std::int64_t data_ttl_ms, std::int64_t status_ttl_ms) {
  std::map<std::pair<std::string, bool>, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < msgs.size(); ++i)
    groups[{tag_of(k, msgs[i]), msgs[i].ordered || msgs[i].keyed()}].push_back(i);

  std::vector<save_call> calls;
  for (auto& [group, items] : groups) {
    const auto& [project, ordered] = group;  // project: the shard's tag
    for (std::size_t from = 0; from < items.size(); from += store::max_per_script) {
      save_call c;
      c.tag = project;
      c.ordered = ordered;
      c.items.assign(items.begin() + from,
                     items.begin() + std::min(items.size(), from + store::max_per_script));
      // The queue of every consumer in this call.
      std::vector<std::string_view> consumers;
      for (auto i : c.items)
        for (const auto& name : msgs[i].consumers)
          if (std::find(consumers.begin(), consumers.end(), name) == consumers.end())
            consumers.push_back(name);
      auto index_of = [&](std::string_view name) {
        return std::find(consumers.begin(), consumers.end(), name) - consumers.begin();
      };
      if (ordered) {  // save-1: KEYS queues; ARGV base, channel, consumers, per message 9 + n
        c.numkeys = consumers.size();
        for (auto name : consumers) c.args.push_back(k.queue(project, name));
        c.args.push_back(k.base(project));
        c.args.push_back(k.wake_channel(project));
        for (auto name : consumers) c.args.emplace_back(name);
      } else {
        for (auto name : consumers)
          c.queues.push_back(
              {k.queue(project, name), name, std::numeric_limits<std::int64_t>::max(), {}});
      }
      for (auto i : c.items) {
        const auto& m = *msgs[i].msg;
        // The data lives msg_save_days, the record (with the statuses) twice as long.
        auto expire_from = std::max(m.due_ms, m.create_ms);
        auto id = std::to_string(m.id), due = std::to_string(m.due_ms);
        auto expire_at = std::to_string(expire_from + status_ttl_ms);
        auto record = encode_record(m, expire_from + data_ttl_ms, msgs[i].consumers);
        if (ordered) {
          bool keyed = msgs[i].keyed();
          c.args.insert(c.args.end(),
                        {id, due, expire_at, m.bucket, std::move(record),
                         keyed ? k.idempotency(project, m.idempotency_key) : std::string(),
                         std::to_string(keyed ? msgs[i].idempotency_ttl_ms : 0),
                         msgs[i].indexed() ? k.find_index(project, m.request_id) : std::string(),
                         msgs[i].ordered ? "1" : "0", std::to_string(msgs[i].consumers.size())});
          for (const auto& name : msgs[i].consumers)
            c.args.push_back(std::to_string(index_of(name) + 1));
          continue;
        }
        for (const auto& name : msgs[i].consumers) {
          auto& q = c.queues[static_cast<std::size_t>(index_of(name))];
          q.pairs.insert(q.pairs.end(), {due, id});
          q.min_due = std::min(q.min_due, m.due_ms);
        }
        if (msgs[i].indexed())
          c.indexes.push_back({k.find_index(project, m.request_id), id, expire_at});
        c.sets.push_back({k.message(project, m.id), std::move(record), std::move(expire_at)});
      }
      calls.push_back(std::move(c));
    }
  }
  return calls;
}

}  // namespace

store::store(redis::client& conn, const keys& k, script_set& scripts,
             std::chrono::milliseconds data_ttl, retry_policy retry, replication repl)
    : conn_(conn),
      keys_(k),
      scripts_(scripts),
      data_ttl_ms_(data_ttl.count()),
      status_ttl_ms_(2 * data_ttl.count()),
      retry_(retry),
      repl_(repl) {}

asio::awaitable<redis::exec_result> store::exec(const redis::command& cmd, bool* maybe_sent) {
  // Whether a failed attempt may have reached Redis: a timeout, or a connection lost with
  // the command written (not_connected: it was never sent).
  auto note = [maybe_sent](std::error_code ec) {
    if (maybe_sent && (ec == redis::errc::timeout || ec == redis::errc::connection_lost))
      *maybe_sent = true;
  };
  // Nothing but on_connect's own commands goes out while a new connection's handshake
  // runs: the revokes it makes must come before any claim or save.
  redis::exec_result result{make_error_code(redis::errc::not_connected), {}};
  // (A cluster checks each master's connection itself.)
  if (conn_.is_cluster() || conn_.ready()) result = co_await conn_.exec(cmd);
  note(result.first);
  int backoff = retry_.min_backoff_ms;
  for (int i = 0; i < retry_.max_retries; ++i) {
    auto ec = result.first;
    if (ec != redis::errc::connection_lost && ec != redis::errc::not_connected) break;
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(backoff));
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    backoff = std::min(backoff * 2, retry_.max_backoff_ms);
    if (!conn_.is_cluster() && !conn_.ready()) continue;
    result = co_await conn_.exec(cmd);
    note(result.first);
  }
  co_return result;
}

asio::awaitable<std::error_code> store::load_scripts(redis::connection& conn, script_set& scripts) {
  redis::command cmd;
  for (auto& s : scripts.all()) cmd.push("SCRIPT", "LOAD", s.text);
  auto [ec, r] = co_await conn.exec(cmd);
  if (auto e = first_error(ec, r)) co_return e;
  for (std::size_t i = 0; i < r.size(); ++i) scripts.all()[i].sha = r[i].str;
  co_return std::error_code{};
}

asio::awaitable<result<redis::reply>> store::run_script(std::string_view name, std::size_t numkeys,
                                                        const std::vector<std::string>& args,
                                                        bool* maybe_sent) {
  const auto& s = scripts_.get(name);
  redis::command cmd;
  s.call(cmd, numkeys, args);
  auto [ec, r] = co_await exec(cmd, maybe_sent);
  if (!ec && !r.empty() && is_noscript(r[0])) {
    redis::command again;
    s.call_eval(again, numkeys, args);
    std::tie(ec, r) = co_await exec(again, maybe_sent);
  }
  if (auto e = first_error(ec, r)) co_return result<redis::reply>{e, {}};
  co_return ok(std::move(r[0]));
}

asio::awaitable<result<redis::replies>> store::run_scripts(
    std::string_view name, std::size_t numkeys, const std::vector<std::vector<std::string>>& calls,
    bool* maybe_sent) {
  const auto& s = scripts_.get(name);
  redis::command cmd;
  for (const auto& args : calls) s.call(cmd, numkeys, args);
  auto [ec, r] = co_await exec(cmd, maybe_sent);
  if (ec) co_return result<redis::replies>{ec, {}};
  // NOSCRIPT: that call did not run (the others did): only it goes again, with EVAL.
  redis::command again;
  std::vector<std::size_t> redo;
  for (std::size_t i = 0; i < r.size() && i < calls.size(); ++i)
    if (is_noscript(r[i])) {
      s.call_eval(again, numkeys, calls[i]);
      redo.push_back(i);
    }
  if (!redo.empty()) {
    auto [ec2, r2] = co_await exec(again, maybe_sent);
    if (ec2) co_return result<redis::replies>{ec2, {}};
    for (std::size_t j = 0; j < redo.size() && j < r2.size(); ++j) r[redo[j]] = std::move(r2[j]);
  }
  if (r.size() != calls.size())
    co_return result<redis::replies>{make_error_code(redis::errc::protocol), {}};
  co_return ok(std::move(r));
}

asio::awaitable<std::vector<std::error_code>> store::save(std::span<const to_save> msgs) {
  // All calls in one pipeline.
  auto calls = plan_save(msgs, keys_, data_ttl_ms_, status_ttl_ms_);
  const auto& save_1 = scripts_.get("save-1");
  redis::command cmd;
  for (auto& c : calls) c.append(cmd, save_1, false);
  bool maybe_sent = false;
  auto [ec, r] = co_await exec(cmd, &maybe_sent);

  std::vector<std::error_code> out(msgs.size(), ec);
  if (ec) {
    if (maybe_sent) co_await decide(msgs, out);
    co_return out;
  }
  // The last reply of each call, whether Redis refused it for memory (a refused command
  // inside MULTI answers OOM, then EXEC EXECABORT), and whether Redis lost save-1
  // (SCRIPT FLUSH, a restart): send those calls again with EVAL.
  std::vector<redis::reply> last;
  std::vector<bool> oom(calls.size(), false);
  redis::command again;
  std::vector<std::size_t> retried;
  for (std::size_t k = 0, at = 0; k < calls.size(); ++k) {
    auto from = at;
    at += calls[k].replies();
    for (auto i = from; i < at; ++i) oom[k] = oom[k] || is_oom(r[i]);
    last.push_back(std::move(r[at - 1]));
    auto* f = save_call::failure(last.back());
    if (f && calls[k].ordered && is_noscript(*f)) {
      calls[k].append(again, save_1, true);
      retried.push_back(k);
    }
  }
  if (!retried.empty()) {
    auto [ec2, r2] = co_await exec(again);
    for (std::size_t j = 0, at = 0; j < retried.size(); ++j) {
      at += calls[retried[j]].replies();
      last[retried[j]] = ec2 ? redis::reply{redis::reply::kind::error, 0, ec2.message(), {}}
                             : std::move(r2[at - 1]);
      oom[retried[j]] = !ec2 && is_oom(last[retried[j]]);
    }
  }
  redis::command wakes;
  std::vector<std::string> fresh, fresh_ordered;  // queues this process has not enlisted
  for (std::size_t k = 0; k < calls.size(); ++k) {
    std::error_code e;
    if (auto* f = save_call::failure(last[k])) {
      spdlog::error("save: redis refused a batch of {} messages: {}", calls[k].items.size(),
                    f->str);
      e = oom[k] ? make_error_code(redis::errc::out_of_memory) : server_error();
    } else {
      calls[k].wakes(last[k], keys_.publish(), keys_.wake_channel(calls[k].tag), wakes);
      if (calls[k].ordered) note_duplicates(msgs, calls[k].items, last[k]);
      calls[k].new_queues(msgs, enlisted_, enlisted_ordered_, fresh, fresh_ordered);
    }
    for (auto i : calls[k].items) out[i] = e;
  }
  co_await replicate(msgs, out);
  // The wake-ups go after the transaction, without holding up the answer. Should this
  // process die in between, the dispatcher sees the messages at its next look at the
  // queue, within dispatch.max_idle_ms.
  if (wakes.count() > 0)
    util::spawn(co_await asio::this_coro::executor, publish(std::move(wakes)), "wake-up publish");
  if (!fresh.empty())
    util::spawn(co_await asio::this_coro::executor, enlist(std::move(fresh), false), "enlist");
  if (!fresh_ordered.empty())
    util::spawn(co_await asio::this_coro::executor, enlist(std::move(fresh_ordered), true),
                "enlist ordered");
  co_return out;
}

store::unsettled store::unsettled_of(const to_save& m) const {
  auto tag = tag_of(keys_, m);
  auto key = m.keyed() ? keys_.idempotency(tag, m.msg->idempotency_key) : std::string();
  return {std::move(tag), m.msg->id, std::max(m.msg->due_ms, m.msg->create_ms) + status_ttl_ms_,
          std::move(key)};
}

asio::awaitable<void> store::replicate(std::span<const to_save> msgs,
                                       std::vector<std::error_code>& out) {
  if (repl_.replicas <= 0) co_return;
  std::vector<std::string> tags(msgs.size());  // the shards of the saves that succeeded
  std::vector<std::string> projects;           // each once
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    if (out[i]) continue;
    tags[i] = tag_of(keys_, msgs[i]);
    if (std::find(projects.begin(), projects.end(), tags[i]) == projects.end())
      projects.push_back(tags[i]);
  }
  if (projects.empty()) co_return;
  // WAIT counts the replicas that have every write made so far on its connection; a read
  // of a key of the project routes it to that project's master in a cluster.
  redis::command cmd;
  for (const auto& p : projects) {
    cmd.push("EXISTS", keys_.paused(p));
    cmd.push("WAIT", repl_.replicas, repl_.timeout_ms);
  }
  // Not retried: a new connection has no writes to wait for.
  auto [ec, r] = co_await conn_.exec(cmd);
  std::vector<std::string_view> short_of;  // shards
  for (std::size_t j = 0; j < projects.size(); ++j)
    if (ec || r.size() <= 2 * j + 1 || r[2 * j + 1].is_error() ||
        r[2 * j + 1].integer < repl_.replicas)
      short_of.push_back(projects[j]);
  if (short_of.empty()) co_return;
  std::vector<std::size_t> which;
  std::vector<unsettled> open;
  for (std::size_t i = 0; i < msgs.size(); ++i)
    if (!out[i] && std::find(short_of.begin(), short_of.end(), tags[i]) != short_of.end()) {
      which.push_back(i);
      open.push_back(unsettled_of(msgs[i]));
    }
  auto got = co_await settle(open, "revoke");
  std::size_t kept = 0;
  for (std::size_t k = 0; k < which.size(); ++k) {
    if (got && (*got)[k] == 1) {
      ++kept;  // a delivery started already: it is saved, and answered so
      continue;
    }
    out[which[k]] = make_error_code(redis::errc::not_replicated);
    if (!got) unsettled_.emplace(open[k].id, open[k]);  // revoked at the next chance
  }
  if (not_replicated_) *not_replicated_ += which.size() - kept;
  spdlog::warn(
      "save: {} messages not confirmed by {} replicas within {} ms ({}): answered not saved "
      "and revoked{}",
      which.size() - kept, repl_.replicas, repl_.timeout_ms,
      ec ? ec.message() : std::string("too few replicas"), got ? "" : " when redis answers again");
}

asio::awaitable<void> store::decide(std::span<const to_save> msgs,
                                    std::vector<std::error_code>& out) {
  std::vector<unsettled> open;
  for (const auto& m : msgs) open.push_back(unsettled_of(m));
  auto why = out[0].message();
  std::optional<std::vector<int>> stored;
  if (co_await conn_.wait_ready(confirm_bound)) stored = co_await settle(open, "confirm");
  if (stored) {
    for (std::size_t i = 0; i < msgs.size(); ++i)
      if ((*stored)[i] == 1) out[i] = {};
    std::size_t n = static_cast<std::size_t>(std::count(stored->begin(), stored->end(), 1));
    if (settled_stored_) *settled_stored_ += n, *settled_not_stored_ += msgs.size() - n;
    spdlog::warn("save: outcome of {} messages unknown ({}); found out: {} stored, {} not",
                 msgs.size(), why, n, msgs.size() - n);
    co_return;
  }
  spdlog::warn(
      "save: outcome of {} messages unknown ({}): answered not saved; revoked first "
      "thing when redis answers again",
      msgs.size(), why);
  for (auto& m : open) unsettled_.emplace(m.id, std::move(m));
  // Redis answered, with an error (not a broken connection, whose next handshake revokes
  // them): try now.
  if (conn_.ready()) co_await revoke();
}

asio::awaitable<std::optional<std::vector<int>>> store::settle(std::span<const unsettled> msgs,
                                                               std::string_view mode) {
  const auto& s = scripts_.get("settle-1");
  redis::command cmd, again;
  for (const auto& m : msgs) {
    std::vector<std::string> args{keys_.message(m.tag, m.id), keys_.base(m.tag),
                                  std::to_string(m.id),       std::to_string(m.expire_at_ms),
                                  std::string(mode),          m.idempotency_key};
    s.call(cmd, 1, args);
    s.call_eval(again, 1, args);
  }
  auto [ec, r] = co_await conn_.exec(cmd);
  if (!ec && !r.empty() && is_noscript(r[0])) std::tie(ec, r) = co_await conn_.exec(again);
  if (first_error(ec, r)) co_return std::nullopt;
  std::vector<int> out;
  for (const auto& x : r) out.push_back(static_cast<int>(x.integer));
  co_return out;
}

asio::awaitable<std::error_code> store::revoke() {
  while (!unsettled_.empty()) {
    // Chunks, so one call never holds Redis long. An id leaves the list once answered (a
    // revoke that runs twice, from two connections, counts it once).
    std::vector<unsettled> chunk;
    for (auto it = unsettled_.begin(); it != unsettled_.end() && chunk.size() < max_per_script;
         ++it)
      chunk.push_back(it->second);
    auto got = co_await settle(chunk, "revoke");
    if (!got) co_return make_error_code(redis::errc::not_connected);
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      if (unsettled_.erase(chunk[i].id) == 0) continue;
      if ((*got)[i] == 0) {
        if (revoked_) ++*revoked_;
        continue;
      }
      if (revoke_too_late_) ++*revoke_too_late_;
      spdlog::error(
          "save: message {} was answered not saved, but it was stored and a "
          "delivery started before it could be revoked",
          chunk[i].id);
    }
    spdlog::info("save: {} messages answered not saved revoked", chunk.size());
  }
  co_return std::error_code{};
}

asio::awaitable<std::error_code> store::on_connect(redis::connection& conn) {
  if (auto ec = co_await load_scripts(conn, scripts_)) co_return ec;
  if (auto ec = co_await read_clock(conn)) co_return ec;
  if (conn_.is_cluster()) {
    if (!lost_claims_.empty() || !unsettled_.empty())
      util::spawn(co_await asio::this_coro::executor, after_connect(), "undo after reconnect");
    co_return std::error_code{};
  }
  if (auto ec = co_await unclaim(conn)) co_return ec;
  co_return co_await revoke();
}

asio::awaitable<void> store::after_connect() {
  if (!co_await conn_.wait_ready(confirm_bound * 8)) co_return;  // the next connect tries again
  if (auto ec = co_await unclaim(conn_))
    spdlog::warn("claim: lost claims not undone yet ({}): their leases run out", ec.message());
  if (auto ec = co_await revoke())
    spdlog::warn("save: revokes not done yet ({}): tried again at the next connect", ec.message());
}

asio::awaitable<std::error_code> store::read_clock(redis::connection& conn) {
  redis::command cmd;
  cmd.push("TIME");
  auto sent_at = storage::now_us();
  auto [ec, r] = co_await conn.exec(cmd);
  if (auto e = first_error(ec, r)) co_return e;
  if (r[0].elements.size() == 2) {
    auto sec = r[0].elements[0].as_int(), us = r[0].elements[1].as_int();
    if (sec && us) clock_.observe(*sec * 1000000 + *us, sent_at, storage::now_us());
  }
  co_return std::error_code{};
}

asio::awaitable<std::error_code> store::unclaim(redis::client& conn) {
  if (lost_claims_.empty()) co_return std::error_code{};
  const auto& s = scripts_.get("unclaim-1");
  redis::command cmd;
  auto now = std::to_string(clock_.now_ms());
  for (const auto& c : lost_claims_)
    s.call(cmd, 1, {c.queue, c.base, c.consumer, std::to_string(c.lease_until), now});
  auto [ec, r] = co_await conn.exec(cmd);
  if (auto e = first_error(ec, r)) co_return e;
  long long n = 0;
  for (const auto& x : r) n += x.integer;
  spdlog::info("claim: {} claims whose answer was lost undone: {} deliveries due again",
               lost_claims_.size(), n);
  lost_claims_.clear();
  co_return std::error_code{};
}

void store::count_into(util::metrics& m) {
  auto saves = [&](std::string_view result) -> std::uint64_t& {
    return m.counter("dmq_saves_unknown_total",
                     "Messages whose save had an unknown outcome (Redis timed out, or the "
                     "connection broke after sending), by how it was settled: stored, "
                     "not_stored (found out before answering), revoked (answered not saved, "
                     "then kept from delivery), too_late (answered not saved, but a delivery "
                     "had started).",
                     {{"result", result}});
  };
  m.gauge("dmq_clock_offset_seconds",
          "Redis's clock minus this host's, as last measured (claims, id lease renewals); "
          "dmq decides due times, leases and retries on Redis's clock.",
          {}, [this] { return static_cast<double>(clock_.offset_ms()) / 1000.0; });
  settled_stored_ = &saves("stored");
  settled_not_stored_ = &saves("not_stored");
  revoked_ = &saves("revoked");
  revoke_too_late_ = &saves("too_late");
  not_replicated_ = &m.counter("dmq_saves_not_replicated_total",
                               "Messages answered not saved because fewer than "
                               "redis.wait_replicas replicas confirmed them in time (WAIT); "
                               "each was revoked.",
                               {});
}

asio::awaitable<void> store::publish(redis::command wakes) {
  auto [ec, r] = co_await conn_.exec(wakes);
  if (auto e = first_error(ec, r))
    spdlog::warn(
        "save: wake-up not published ({}): the dispatcher sees the messages within "
        "dispatch.max_idle_ms",
        e.message());
}

asio::awaitable<result<std::optional<record>>> store::load(std::string_view project,
                                                           std::uint64_t id, std::string* tag) {
  // Every shard at once (one round trip; a sharded project's ordered and keyed messages
  // are not in the id's home shard).
  auto tags = keys_.tags(project);
  redis::command cmd;
  for (const auto& t : tags) cmd.push("GET", keys_.message(t, id));
  auto [ec, r] = co_await exec(cmd);
  if (auto e = first_error(ec, r)) co_return result<std::optional<record>>{e, {}};
  for (std::size_t i = 0; i < r.size() && i < tags.size(); ++i) {
    // No record, or a tombstone (settle-1.lua: its producer was told "not saved").
    if (r[i].is_nil() || r[i].str.empty()) continue;
    auto rec = decode_record(r[i].str);
    if (!rec) {
      spdlog::error("redis: {} is not a message record", keys_.message(tags[i], id));
      co_return result<std::optional<record>>{server_error(), {}};
    }
    rec->msg.id = id;
    rec->msg.project = project;
    if (tag) *tag = tags[i];
    co_return ok(std::move(rec));
  }
  co_return result<std::optional<record>>{{}, std::nullopt};
}

asio::awaitable<result<std::optional<std::string>>> store::status(std::string_view project,
                                                                  std::uint64_t id,
                                                                  std::string_view consumer) {
  auto [ec, rec] = co_await load(project, id);
  if (ec || !rec) co_return result<std::optional<std::string>>{ec, std::nullopt};
  const auto* c = rec->status(consumer);
  if (!c) co_return result<std::optional<std::string>>{{}, std::nullopt};
  co_return result<std::optional<std::string>>{{}, c->status};
}

asio::awaitable<result<std::optional<model::message>>> store::detail(std::string_view project,
                                                                     std::uint64_t id) {
  auto [ec, rec] = co_await load(project, id);
  // The data expires msg_save_days after the due time, the statuses twice as late.
  if (ec || !rec || rec->data_expire_at_ms <= now_ms())
    co_return result<std::optional<model::message>>{ec, std::nullopt};
  co_return ok(std::optional<model::message>(std::move(rec->msg)));
}

asio::awaitable<result<pending_page>> store::pending(std::string_view project,
                                                     std::string_view consumer,
                                                     std::int64_t start_s, std::int64_t end_s,
                                                     int limit) {
  auto tags = keys_.tags(project);
  redis::command cmd;
  for (const auto& t : tags) {
    auto key = keys_.pending(t, consumer);
    cmd.push("ZCARD", key);
    cmd.push("ZRANGE", key, start_s, end_s, "BYSCORE", "WITHSCORES", "LIMIT", 0, limit);
  }
  auto [ec, r] = co_await exec(cmd);
  if (auto e = first_error(ec, r)) co_return result<pending_page>{e, {}};
  co_return ok(merge_pending(r, static_cast<std::size_t>(std::max(limit, 0))));
}

asio::awaitable<result<std::vector<queue_counts>>> store::queue_stats(
    std::span<const std::pair<std::string_view, std::string_view>> consumers, std::int64_t now_ms) {
  redis::command cmd;
  std::vector<std::size_t> shards;  // per consumer
  for (const auto& [project, consumer] : consumers) {
    auto tags = keys_.tags(project);
    shards.push_back(tags.size());
    for (const auto& t : tags) {
      auto q = keys_.queue(t, consumer);
      cmd.push("ZCARD", q);
      cmd.push("ZCOUNT", q, "-inf", now_ms);
      cmd.push("ZCARD", keys_.pending(t, consumer));
    }
  }
  std::vector<storage::queue_counts> out;
  if (consumers.empty()) co_return result<std::vector<storage::queue_counts>>{{}, out};
  auto [ec, r] = co_await exec(cmd);
  if (auto e = first_error(ec, r)) co_return result<std::vector<storage::queue_counts>>{e, {}};
  std::size_t i = 0;
  for (auto n : shards) {  // the sum over the consumer's shards
    storage::queue_counts c;
    for (std::size_t s = 0; s < n && i + 2 < r.size(); ++s, i += 3) {
      c.queued += r[i].integer;
      c.due += r[i + 1].integer;
      c.pending += r[i + 2].integer;
    }
    out.push_back(c);
  }
  co_return ok(std::move(out));
}

asio::awaitable<result<std::vector<bool>>> store::solved(std::string_view project,
                                                         std::string_view consumer,
                                                         std::span<const std::uint64_t> ids) {
  // Every shard is asked about every id: an id not in a shard changes nothing there.
  std::vector<std::vector<std::string>> calls;
  for (const auto& t : keys_.tags(project)) {
    std::vector<std::string> args{keys_.pending(t, consumer), keys_.base(t), std::string(consumer)};
    for (auto id : ids) args.push_back(std::to_string(id));
    calls.push_back(std::move(args));
  }
  auto [ec, r] = co_await run_scripts("solved-1", 1, calls);
  co_return any_per_id(ec, r, ids.size());
}

asio::awaitable<result<claim_batch>> store::claim(std::string_view project,
                                                  std::string_view consumer, std::int64_t now_ms,
                                                  std::int64_t lease_ms, int max, int shared_rate,
                                                  std::int64_t horizon_ms) {
  const std::string tags[] = {std::string(project)};
  const int most[] = {max};
  auto [ec, batches] =
      co_await claim_shards(tags, consumer, now_ms, lease_ms, most, shared_rate, horizon_ms);
  if (!ec && batches[0].error) ec = batches[0].error;
  if (ec) co_return result<claim_batch>{ec, {}};
  co_return ok(std::move(batches[0]));
}

asio::awaitable<result<std::vector<claim_batch>>> store::claim_shards(
    std::span<const std::string> tags, std::string_view consumer, std::int64_t now_ms,
    std::int64_t lease_ms, std::span<const int> max, int shared_rate, std::int64_t horizon_ms) {
  std::vector<std::vector<std::string>> calls;
  calls.reserve(tags.size());
  for (std::size_t i = 0; i < tags.size() && i < max.size(); ++i) {
    const auto& t = tags[i];
    calls.push_back({keys_.queue(t, consumer), keys_.base(t), std::string(consumer),
                     std::to_string(now_ms), std::to_string(lease_ms), std::to_string(max[i]),
                     std::to_string(shared_rate), std::to_string(horizon_ms),
                     // a cluster: a record may still be on its way (claim-1.lua)
                     keys_.cluster() ? std::to_string(missing_grace_ms) : "0"});
  }
  auto sent_at = storage::now_us();
  bool maybe_sent = false;
  auto [ec, r] = co_await run_scripts("claim-1", 1, calls, &maybe_sent);
  if (ec) {
    if (maybe_sent)
      for (const auto& a : calls) lost_claims_.push_back({a[0], a[1], a[2], now_ms + lease_ms});
    co_return result<std::vector<claim_batch>>{ec, {}};
  }
  const auto received_at = storage::now_us();
  std::vector<claim_batch> out(calls.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    // An error reply: the script did not run (that shard's master refused it).
    if (r[i].is_error() || !parse_claim(r[i], out[i])) {
      out[i].error = r[i].is_error() ? server_error() : make_error_code(redis::errc::protocol);
      continue;
    }
    clock_.observe(out[i].redis_us, sent_at, received_at);
  }
  co_return ok(std::move(out));
}

asio::awaitable<result<bool>> store::ack(std::string_view project, std::string_view consumer,
                                         std::uint64_t id, std::int64_t lease_until, outcome what,
                                         std::int64_t at_ms, std::int64_t timestamp_s,
                                         const std::string* ordered_bucket,
                                         std::string_view history, int keep,
                                         std::int64_t other_lease) {
  static constexpr const char* names[] = {"done", "retry", "failure", "release"};
  auto trim_below = now_ms() / 1000 - status_ttl_ms_ / 1000;
  std::vector<std::string> args{keys_.queue(project, consumer),
                                keys_.pending(project, consumer),
                                keys_.base(project),
                                std::string(consumer),
                                std::to_string(id),
                                std::to_string(lease_until),
                                names[static_cast<int>(what)],
                                std::to_string(at_ms),
                                std::to_string(timestamp_s),
                                std::to_string(trim_below),
                                ordered_bucket ? *ordered_bucket : std::string{},
                                std::string(history),
                                std::to_string(keep),
                                other_lease ? std::to_string(other_lease) : std::string{},
                                keys_.cluster() ? "1" : ""};
  auto [ec, r] = co_await run_script("ack-2", 2, args);
  if (ec) co_return result<bool>{ec, false};
  co_return result<bool>{{}, r.integer == 1};
}

// scan calls each(key) for every key matching pattern (SCAN, 1000 at a time).
template <class F>
static asio::awaitable<std::error_code> scan(redis::client& conn, const std::string& pattern,
                                             F each) {
  for (auto* node : conn.masters()) {  // in a cluster, each master holds its slots' keys
    std::string cursor = "0";
    do {
      redis::command cmd;
      cmd.push("SCAN", cursor, "MATCH", pattern, "COUNT", "1000");
      auto [ec, r] = co_await node->exec(cmd);
      if (auto e = first_error(ec, r)) co_return e;
      if (r[0].elements.size() != 2) co_return make_error_code(redis::errc::protocol);
      cursor = r[0].elements[0].str;
      for (const auto& k : r[0].elements[1].elements) each(k.str);
    } while (cursor != "0");
  }
  co_return std::error_code{};
}

asio::awaitable<result<store::known_queues>> store::known() {
  using R = result<known_queues>;
  redis::command cmd;
  cmd.push("EXISTS", keys_.registry_complete());
  cmd.push("SMEMBERS", keys_.queue_registry());
  cmd.push("SMEMBERS", keys_.ordered_registry());
  auto [ec, r] = co_await exec(cmd);
  if (auto e = first_error(ec, r)) co_return R{e, {}};
  known_queues k;
  for (const auto& x : r[1].elements) k.queues.push_back(x.str);
  for (const auto& x : r[2].elements) k.ordered.push_back(x.str);
  if (r[0].integer == 1) co_return ok(std::move(k));
  // Never filled (data written before the registries, or a Redis emptied): walk the
  // keyspace once for every queue and every ordered bucket, as every start used to.
  std::set<std::string> queues(k.queues.begin(), k.queues.end());
  std::set<std::string> ordered(k.ordered.begin(), k.ordered.end());
  auto e1 = co_await scan(conn_, keys_.queues_pattern(), [&](const std::string& key) {
    if (keys_.parse_queue(key)) queues.insert(key);
  });
  if (e1) co_return R{e1, {}};
  auto e2 = co_await scan(conn_, keys_.buckets_pattern(), [&](const std::string& key) {
    if (auto pc = keys_.parse_bucket(key)) ordered.insert(keys_.queue(pc->first, pc->second));
  });
  if (e2) co_return R{e2, {}};
  k.queues.assign(queues.begin(), queues.end());
  k.ordered.assign(ordered.begin(), ordered.end());
  redis::command fill;
  for (std::size_t i = 0; i < k.queues.size(); i += 500) {
    auto n = std::min<std::size_t>(500, k.queues.size() - i);
    fill.begin(2 + n).arg("SADD").arg(keys_.queue_registry());
    for (std::size_t j = i; j < i + n; ++j) fill.arg(k.queues[j]);
  }
  for (std::size_t i = 0; i < k.ordered.size(); i += 500) {
    auto n = std::min<std::size_t>(500, k.ordered.size() - i);
    fill.begin(2 + n).arg("SADD").arg(keys_.ordered_registry());
    for (std::size_t j = i; j < i + n; ++j) fill.arg(k.ordered[j]);
  }
  fill.push("SET", keys_.registry_complete(), "1");
  auto [ec3, r3] = co_await exec(fill);
  if (auto e = first_error(ec3, r3))
    spdlog::warn("dispatcher: queue registry not written ({}): the next start scans again",
                 e.message());
  co_return ok(std::move(k));
}

asio::awaitable<void> store::enlist(std::vector<std::string> queues, bool ordered) {
  auto& done = ordered ? enlisted_ordered_ : enlisted_;
  std::erase_if(queues, [&](const std::string& q) { return done.count(q) > 0; });
  if (queues.empty()) co_return;
  redis::command cmd;
  cmd.begin(2 + queues.size())
      .arg("SADD")
      .arg(ordered ? keys_.ordered_registry() : keys_.queue_registry());
  for (const auto& q : queues) cmd.arg(q);
  auto [ec, r] = co_await exec(cmd);
  if (auto e = first_error(ec, r)) {
    spdlog::warn("save: queues not added to the registry ({}): the next save tries again",
                 e.message());
    co_return;
  }
  done.insert(queues.begin(), queues.end());
}

asio::awaitable<result<std::vector<store::queue_size>>> store::queues() {
  auto [ec, known_keys] = co_await known();
  if (ec) co_return result<std::vector<queue_size>>{ec, {}};
  std::vector<std::string> found;
  std::vector<queue_size> out;
  for (const auto& k : known_keys.queues)
    if (auto pc = keys_.parse_queue(k)) {
      found.push_back(k);
      out.push_back({pc->first, pc->second, 0});
    }
  if (found.empty()) co_return result<std::vector<queue_size>>{{}, {}};
  redis::command cmd;
  for (const auto& k : found) cmd.push("ZCARD", k);
  auto [ec2, r] = co_await exec(cmd);
  if (auto e = first_error(ec2, r)) co_return result<std::vector<queue_size>>{e, {}};
  for (std::size_t i = 0; i < out.size(); ++i) out[i].size = r[i].integer;
  co_return ok(by_project(keys_, std::move(out)));
}

asio::awaitable<result<std::vector<store::queue_size>>> store::unbucket(
    const std::function<bool(const std::string&, const std::string&)>& release) {
  // Only a queue that had ordered messages can have buckets: none to release, no SCAN.
  auto [ec0, known_keys] = co_await known();
  if (ec0) co_return result<std::vector<queue_size>>{ec0, {}};
  bool any = false;
  for (const auto& q : known_keys.ordered)
    if (auto pc = keys_.parse_queue(q))
      any = any || release(std::string(keys_.project_of(pc->first)), pc->second);
  if (!any) co_return result<std::vector<queue_size>>{{}, {}};
  std::vector<std::pair<std::string, queue_size>> buckets;  // key, whose
  auto ec = co_await scan(conn_, keys_.buckets_pattern(), [&](const std::string& k) {
    if (auto pc = keys_.parse_bucket(k);
        pc && release(std::string(keys_.project_of(pc->first)), pc->second))
      buckets.push_back({k, {pc->first, pc->second, 0}});
  });
  std::vector<queue_size> out;
  if (ec) co_return result<std::vector<queue_size>>{ec, {}};
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    const auto& who = buckets[i].second;
    std::vector<std::string> args{buckets[i].first, keys_.queue(who.project, who.consumer),
                                  keys_.base(who.project), who.consumer};
    auto [e, r] = co_await run_script("unbucket-2", 2, args);
    if (e) co_return result<std::vector<queue_size>>{e, by_project(keys_, std::move(out))};
    out.push_back({who.project, who.consumer, r.integer});
  }
  co_return ok(by_project(keys_, std::move(out)));
}

asio::awaitable<result<int>> store::cancel(std::string_view project, std::uint64_t id) {
  std::vector<std::vector<std::string>> calls;  // each shard: 0 where the message is not
  for (const auto& t : keys_.tags(project))
    calls.push_back({keys_.message(t, id), keys_.base(t), std::to_string(id)});
  auto [ec, r] = co_await run_scripts("cancel-1", 1, calls);
  if (auto e = first_error(ec, r)) co_return result<int>{e, 0};
  int got = 0;
  for (const auto& x : r)
    if (x.integer != 0) got = static_cast<int>(x.integer);
  co_return result<int>{{}, got};
}

asio::awaitable<result<std::vector<bool>>> store::retry(std::string_view project,
                                                        std::string_view consumer,
                                                        std::span<const std::uint64_t> ids) {
  std::vector<std::vector<std::string>> calls;
  for (const auto& t : keys_.tags(project)) {
    std::vector<std::string> args{
        keys_.queue(t, consumer), keys_.pending(t, consumer),      keys_.base(t),
        std::string(consumer),    std::to_string(clock_.now_ms()), keys_.wake_channel(t)};
    for (auto id : ids) args.push_back(std::to_string(id));
    calls.push_back(std::move(args));
  }
  auto [ec, r] = co_await run_scripts("retry-2", 2, calls);
  co_return any_per_id(ec, r, ids.size());
}

// --- the dispatcher's side of the operators' features (issue 14)

asio::awaitable<std::error_code> store::report(std::string_view id, std::string_view json,
                                               std::int64_t now_ms, std::int64_t ttl_ms) {
  redis::command cmd;
  cmd.push("SET", keys_.dispatcher(id), json, "PX", ttl_ms);
  cmd.push("ZADD", keys_.dispatchers(), now_ms, id);
  // A dispatcher killed without its clean shutdown leaves a member: dropped here by the
  // others once its report expired.
  cmd.push("ZREMRANGEBYSCORE", keys_.dispatchers(), "-inf", "(" + std::to_string(now_ms - ttl_ms));
  auto [ec, r] = co_await exec(cmd);
  co_return first_error(ec, r);
}

asio::awaitable<std::error_code> store::unreport(std::string_view id) {
  redis::command cmd;
  cmd.push("DEL", keys_.dispatcher(id));
  cmd.push("ZREM", keys_.dispatchers(), id);
  auto [ec, r] = co_await exec(cmd);
  co_return first_error(ec, r);
}

asio::awaitable<result<bool>> store::tailing() {
  redis::command cmd;
  cmd.push("GET", keys_.tail());  // GET, not EXISTS: one command less in dmq's ACL
  auto [ec, r] = co_await exec(cmd);
  if (auto e = first_error(ec, r)) co_return result<bool>{e, false};
  co_return result<bool>{{}, !r[0].is_nil()};
}

asio::awaitable<std::error_code> store::add_events(std::span<const delivery_event> events) {
  if (events.empty()) co_return std::error_code{};
  redis::command cmd;
  auto key = keys_.events();
  for (const auto& e : events)
    cmd.push("XADD", key, "MAXLEN", "~", events_max_len, "*", "t", e.t, "project", e.project,
             "consumer", e.consumer, "id", e.id, "attempt", e.attempt, "outcome", e.outcome,
             "http_status", e.http_status, "error", e.error, "duration_ms", e.duration_ms);
  auto [ec, r] = co_await exec(cmd);
  co_return first_error(ec, r);
}

}  // namespace dmq::storage
