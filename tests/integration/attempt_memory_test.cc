// What the attempt history costs in Redis (docs/storage.md, "Attempt history"): per
// message whose delivery to one consumer failed k times (k = 1, 3, 5, the default
// dispatch.attempt_history), with answers of 256 bytes (dispatch.attempt_answer_bytes'
// default, all of it used), the MEMORY USAGE of its a:<id> key and the growth of Redis's
// used_memory. Prints a table (the figures of docs/storage.md) and checks loose bounds.
#include <iostream>
#include <random>

#include "dispatch/attempt_entry.h"
#include "store_fixture.h"

namespace dmq::test {
namespace {

using attempt_memory_test = store_test;

std::int64_t used_memory(test::redis_server& r) {
  auto info = r.cmd({"INFO", "memory"}).str;
  auto at = info.find("used_memory:");
  return std::stoll(info.substr(at + 12));
}

TEST_F(attempt_memory_test, bytes_per_message_for_1_3_and_5_failed_attempts) {
  constexpr int n = 2000;
  std::mt19937 rng(7);
  int answer_len = 256;
  auto answer = [&] {  // text, as an error page's start might be
    std::string s;
    for (int i = 0; i < answer_len; ++i) s += static_cast<char>('a' + rng() % 26);
    return s;
  };
  std::cout << "| failed attempts kept | answer (bytes) | a:<id> MEMORY USAGE (bytes) | "
               "used_memory growth per message (bytes) | entry length (bytes) |\n"
               "|---|---|---|---|---|\n";
  std::uint64_t base = 900000;
  for (auto [k, len] : {std::pair{1, 256}, {3, 256}, {5, 256}, {5, 16}}) {
    answer_len = len;
    std::vector<model::message> ms;
    auto now = storage::now_ms();
    for (int i = 0; i < n; ++i) ms.push_back(msg(base + i, "sds", now - 10));
    for (auto& e : save(ms)) ASSERT_FALSE(e);
    redis.cmd({"DEL", keys.queue("sds", "fghyds")});
    auto before = used_memory(redis);
    std::size_t entry_len = 0;
    for (int attempt = 1; attempt <= k; ++attempt) {
      auto at = now + attempt * 1000000LL;
      auto [ec, b] = run(store.claim("sds", "dgfa", at, 10000, n));
      ASSERT_FALSE(ec);
      ASSERT_EQ(b.items.size(), static_cast<std::size_t>(n));
      // One coroutine for the round: a round trip per ack, not a turn of run() each.
      auto acks = [&](storage::claim_batch batch, int attempt_no,
                      std::int64_t t) -> asio::awaitable<int> {
        int recorded = 0;
        for (const auto& c : batch.items) {
          auto entry = dispatch::to_json(
              {attempt_no, t, 5000, "retry", 0, "timeout", answer(), "host-1:4242"}, 256);
          entry_len = entry.size();
          auto r = co_await store.ack("sds", "dgfa", c.id, batch.lease_until,
                                      storage::outcome::retry, t + 1, 0, nullptr, entry, 5);
          recorded += r.second ? 1 : 0;
        }
        co_return recorded;
      };
      EXPECT_EQ(run(acks(std::move(b), attempt, at), 60s), n);
    }
    auto after = used_memory(redis);
    std::int64_t usage = 0;
    for (int i = 0; i < n; ++i)
      usage +=
          redis.cmd({"MEMORY", "USAGE", keys.attempts("sds", base + i), "SAMPLES", "0"}).integer;
    std::cout << "| " << k << " | " << len << " | " << usage / n << " | " << (after - before) / n
              << " | " << entry_len << " |\n";
    EXPECT_LT(usage / n, 700 * k + 200) << k;
    redis.cmd({"FLUSHALL"});
    base += n;
  }
}

}  // namespace
}  // namespace dmq::test
