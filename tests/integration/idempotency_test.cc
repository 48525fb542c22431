// idempotency_test: messages with an idempotency key, stored by save-1 against a real
// redis-server: the first is stored, a second with the same key (in the same call or a
// later one) is not and is answered with the first's id, and a save answered "not saved"
// gives its key back (issue 13, section 4).
#include <gtest/gtest.h>

#include "store_fixture.h"
#include "util/metrics.h"

using namespace dmq;
using namespace std::chrono_literals;
using test::queue_ids;

struct idempotency : test::store_test {
  static constexpr std::int64_t window_ms = 3600 * 1000;

  model::message keyed(std::uint64_t id, std::string key, std::string project = "sds") {
    auto m = msg(id, std::move(project));
    m.idempotency_key = std::move(key);
    return m;
  }
  // save_keyed saves ms in one call; returns per message its error and same_as.
  std::vector<std::pair<std::error_code, std::uint64_t>> save_keyed(
      const std::vector<model::message>& ms, bool ordered = false) {
    std::vector<std::uint64_t> same(ms.size(), 0);
    std::vector<storage::to_save> v;
    for (std::size_t i = 0; i < ms.size(); ++i)
      v.push_back({&ms[i], consumers, ordered, window_ms, &same[i]});
    auto errs = run(store.save(v));
    std::vector<std::pair<std::error_code, std::uint64_t>> out;
    for (std::size_t i = 0; i < ms.size(); ++i) out.emplace_back(errs[i], same[i]);
    return out;
  }
};

TEST_F(idempotency, a_second_message_with_the_key_is_not_stored_and_names_the_first) {
  auto a = keyed(31001, "order-7-cancel");
  auto r1 = save_keyed({a});
  ASSERT_FALSE(r1[0].first);
  EXPECT_EQ(r1[0].second, 0u) << "the first is stored itself";
  auto b = keyed(31002, "order-7-cancel");
  auto r2 = save_keyed({b});
  ASSERT_FALSE(r2[0].first);
  EXPECT_EQ(r2[0].second, 31001u);
  EXPECT_FALSE(rec(31002)) << "nothing stored for the second";
  EXPECT_EQ(queue_ids(redis, keys.queue("sds", "dgfa")), std::vector<std::string>{"31001"});
  EXPECT_EQ(queue_ids(redis, keys.queue("sds", "fghyds")), std::vector<std::string>{"31001"});
  auto ttl = redis.cmd({"PTTL", keys.idempotency("sds", "order-7-cancel")}).integer;
  EXPECT_GT(ttl, window_ms - 60000);
  EXPECT_LE(ttl, window_ms) << "the key expires with the window";
}

TEST_F(idempotency, the_same_key_twice_in_one_call_stores_one) {
  auto r = save_keyed({keyed(32001, "k"), keyed(32002, "other"), keyed(32003, "k")});
  EXPECT_EQ(r[0].second, 0u);
  EXPECT_EQ(r[1].second, 0u);
  EXPECT_EQ(r[2].second, 32001u);
  EXPECT_TRUE(rec(32001));
  EXPECT_TRUE(rec(32002));
  EXPECT_FALSE(rec(32003));
  EXPECT_EQ(queue_ids(redis, keys.queue("sds", "dgfa")).size(), 2u);
}

TEST_F(idempotency, a_call_sent_again_answers_its_own_message) {
  // A retry of the same call (same ids) after a lost answer: stored once, not a duplicate
  // of itself.
  auto a = keyed(33001, "retry-me");
  ASSERT_FALSE(save_keyed({a})[0].first);
  auto again = save_keyed({a});
  ASSERT_FALSE(again[0].first);
  EXPECT_EQ(again[0].second, 0u);
  EXPECT_EQ(queue_ids(redis, keys.queue("sds", "dgfa")), std::vector<std::string>{"33001"});
}

TEST_F(idempotency, keys_are_per_project_and_work_for_ordered_commands) {
  auto r = save_keyed({keyed(34001, "same"), keyed(34002, "same", "svs")}, true);
  EXPECT_EQ(r[0].second, 0u);
  EXPECT_EQ(r[1].second, 0u) << "another project's key is another key";
  auto again = save_keyed({keyed(34003, "same")}, true);
  EXPECT_EQ(again[0].second, 34001u);
  EXPECT_EQ(queue_ids(redis, keys.queue("sds", "dgfa")), std::vector<std::string>{"34001"});
}

TEST_F(idempotency, keyed_and_plain_messages_of_one_save_are_all_delivered) {
  std::vector<model::message> ms{msg(35001, "sds", storage::now_ms() - 5), keyed(35002, "x"),
                                 msg(35003, "sds", storage::now_ms() - 5)};
  ms[1].due_ms = storage::now_ms() - 5;
  auto r = save_keyed(ms);
  for (auto& [e, same] : r) ASSERT_FALSE(e) << e.message();
  auto [ec, b] = run(store.claim("sds", "dgfa", storage::now_ms(), 10000, 10));
  ASSERT_FALSE(ec);
  EXPECT_EQ(b.items.size(), 3u);
}

TEST_F(idempotency, a_save_answered_not_saved_gives_its_key_back) {
  // The save of a keyed message times out (Redis frozen with it in its socket buffer): the
  // producer is told "not saved", so its retry with the same key must be stored, not be
  // answered with the id of a message that is revoked (settle-1 removes the key).
  util::metrics metrics;
  store.count_into(metrics);
  auto& revoked = metrics.counter("dmq_saves_unknown_total", "", {{"result", "revoked"}});
  auto a = keyed(36001, "pay-9");
  a.due_ms = storage::now_ms() - 10;
  redis.pause();
  auto r = save_keyed({a});
  ASSERT_TRUE(r[0].first) << "no answer from Redis: not saved";
  redis.resume();  // the buffered save may now run; the revoke must win either way
  run_until([&] { return revoked == 1; }, 10s);
  EXPECT_EQ(redis.cmd({"EXISTS", keys.idempotency("sds", "pay-9")}).integer, 0);
  auto retry = keyed(36002, "pay-9");
  auto r2 = save_keyed({retry});
  ASSERT_FALSE(r2[0].first);
  EXPECT_EQ(r2[0].second, 0u) << "the retry is stored, not a duplicate of a revoked message";
  EXPECT_TRUE(rec(36002));
}

TEST_F(idempotency, a_key_costs_little_memory) {
  // docs/security.md quotes this figure; the bound catches a key that grows by accident.
  std::string key(36, 'k');  // a UUID's length
  ASSERT_FALSE(save_keyed({keyed(37001, key)})[0].first);
  auto bytes = redis.cmd({"MEMORY", "USAGE", keys.idempotency("sds", key)}).integer;
  std::cout << "MEMORY USAGE of an idempotency key (36-byte key): " << bytes << " bytes\n";
  EXPECT_GT(bytes, 0);
  EXPECT_LT(bytes, 160);
}
