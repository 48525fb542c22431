// save_plan_bench: what a save of a batch costs dmq before it reaches Redis. store.cc's
// plan_save and save_call::append are file-local, so this builds the same thing from the
// same public parts, in the same order: per message its key (keys::message), its record
// (encode_record), the decimal id, due and expiry; per queue the ZADD pairs; then the one
// pipelined command MULTI, SET ... NX PXAT x n, ZRANGE q 0 0 WITHSCORES, ZADD q NX ..., EXEC
// (redis::command, the RESP bytes sent). Keep in step with store.cc's plan_save.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <limits>

#include "redis/reply.h"
#include "samples.h"
#include "storage/keys.h"
#include "storage/record.h"

using namespace dmq;

namespace {

const std::array<std::string, 2> two_consumers{"dgfa", "fghyds"};
constexpr std::int64_t data_ttl_ms = 4LL * 86400 * 1000;

struct set_cmd {
  std::string key, record, expire_at_ms;
};
struct queue_cmd {
  std::string key;
  std::int64_t min_due = std::numeric_limits<std::int64_t>::max();
  std::vector<std::string> pairs;
};

// plan_and_build: the unordered path of store::save for one chunk (<= 100 messages).
std::string plan_and_build(const std::vector<model::message>& msgs,
                           std::span<const std::string> consumers, const storage::keys& k) {
  std::vector<set_cmd> sets;
  std::vector<queue_cmd> queues;
  for (const auto& name : consumers) queues.push_back({k.queue("svs", name), {}, {}});
  for (const auto& m : msgs) {
    auto expire_from = std::max(m.due_ms, m.create_ms);
    auto id = std::to_string(m.id), due = std::to_string(m.due_ms);
    auto expire_at = std::to_string(expire_from + 2 * data_ttl_ms);
    auto record = storage::encode_record(m, expire_from + data_ttl_ms, consumers);
    for (auto& q : queues) {
      q.pairs.insert(q.pairs.end(), {due, id});
      q.min_due = std::min(q.min_due, m.due_ms);
    }
    sets.push_back({k.message(m.project, m.id), std::move(record), std::move(expire_at)});
  }
  redis::command cmd;
  cmd.push("MULTI");
  for (const auto& x : sets) cmd.push("SET", x.key, x.record, "NX", "PXAT", x.expire_at_ms);
  for (const auto& q : queues) cmd.push("ZRANGE", q.key, "0", "0", "WITHSCORES");
  for (const auto& q : queues) {
    cmd.begin(3 + q.pairs.size()).arg("ZADD").arg(q.key).arg("NX");
    for (const auto& a : q.pairs) cmd.arg(a);
  }
  cmd.push("EXEC");
  return cmd.take();
}

// range(0): messages in the batch; range(1): consumers of the command.
void BM_save_plan(benchmark::State& st) {
  auto msgs = micro::messages(static_cast<int>(st.range(0)));
  std::span<const std::string> consumers(two_consumers.data(),
                                         static_cast<std::size_t>(st.range(1)));
  storage::keys k;
  std::size_t bytes = 0;
  for (auto _ : st) {
    auto b = plan_and_build(msgs, consumers, k);
    bytes = b.size();
    benchmark::DoNotOptimize(b);
  }
  st.SetItemsProcessed(st.iterations() * st.range(0));
  st.counters["resp_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_save_plan)->Args({1, 1})->Args({100, 1})->Args({100, 2});

}  // namespace
