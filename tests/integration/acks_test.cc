// acks_test: many delivery outcomes recorded in one script call (storage/acks.h,
// ack_batch-1.lua), each only if its lease is still ours, on a real redis-server.
#include "storage/acks.h"

#include "storage/lease.h"
#include "store_fixture.h"

namespace dmq::test {
namespace {

struct acks_test : store_test {
  std::string q = keys.queue("sds", "dgfa");

  std::optional<std::int64_t> score(std::uint64_t id) {
    return redis.cmd({"ZSCORE", q, std::to_string(id)}).as_int();
  }
  int attempts_of(std::uint64_t id) {
    auto r = rec(id);
    const auto* c = r ? r->status("dgfa") : nullptr;
    return c ? c->attempts : -1;
  }
  // evalsha_calls: EVALSHA calls since the last CONFIG RESETSTAT.
  std::int64_t evalsha_calls() {
    auto info = redis.cmd({"INFO", "commandstats"}).str;
    auto at = info.find("cmdstat_evalsha:calls=");
    if (at == std::string::npos) return 0;
    return std::stoll(info.substr(at + 22));
  }
};

TEST_F(acks_test, many_outcomes_go_in_one_call_each_only_if_its_lease_is_ours) {
  const auto now = storage::now_ms();
  std::vector<model::message> ms;
  for (std::uint64_t id = 41001; id <= 41005; ++id) ms.push_back(msg(id, "sds", now - 10));
  for (auto e : save(ms)) ASSERT_FALSE(e) << e.message();
  auto [ec, b] = run(store.claim("sds", "dgfa", storage::now_ms(), 2000, 10));
  ASSERT_FALSE(ec);
  ASSERT_EQ(b.items.size(), 5u);
  const auto l = b.lease_until;
  // 41005's lease ran out and another dispatcher claimed it again: another score.
  redis.cmd({"ZADD", q, "XX", std::to_string(l + 777), "41005"});

  const auto retry_at = now + 60000, due_again = now + 5;
  std::vector<storage::ack_item> items{
      {41001, l, 0, storage::outcome::done, 0, 0, {}, {}},
      {41002, l, 0, storage::outcome::retry, retry_at, 0, {}, {}},
      {41003, l, 0, storage::outcome::failure, 0, 1597360800, {}, {}},
      {41004, l, 0, storage::outcome::release, due_again, 0, {}, {}},
      {41005, l, 0, storage::outcome::done, 0, 0, {}, {}},  // not ours any more
  };
  redis.cmd({"CONFIG", "RESETSTAT"});
  auto [ec2, recorded] = run(storage::ack_batch(store, "sds", "dgfa", items, 5));
  ASSERT_FALSE(ec2) << ec2.message();
  EXPECT_EQ(recorded, (std::vector<bool>{true, true, true, true, false}));
  EXPECT_EQ(evalsha_calls(), 1) << "one script call for the five";

  EXPECT_FALSE(score(41001));
  EXPECT_EQ(status_of(41001, "dgfa"), "done");
  EXPECT_EQ(score(41002), retry_at);
  EXPECT_EQ(status_of(41002, "dgfa"), "doing");
  EXPECT_FALSE(score(41003));
  EXPECT_EQ(status_of(41003, "dgfa"), "failure");
  EXPECT_EQ(redis.cmd({"ZSCORE", keys.pending("sds", "dgfa"), "41003"}).as_int(), 1597360800);
  EXPECT_EQ(score(41004), due_again);  // released: due again, its attempt given back
  EXPECT_EQ(status_of(41004, "dgfa"), "waiting");
  EXPECT_EQ(attempts_of(41004), 0);
  EXPECT_EQ(score(41005), l + 777);  // the other dispatcher's lease is left alone
  EXPECT_EQ(status_of(41005, "dgfa"), "doing");
  // The other consumer's statuses are untouched.
  for (std::uint64_t id = 41001; id <= 41005; ++id) EXPECT_EQ(status_of(id, "fghyds"), "waiting");
}

TEST_F(acks_test, an_outcome_follows_a_lease_that_a_renewal_moved) {
  auto m = msg(41101, "sds", storage::now_ms() - 10);
  for (auto e : save({m})) ASSERT_FALSE(e);
  auto [ec, b] = run(store.claim("sds", "dgfa", storage::now_ms(), 2000, 10));
  ASSERT_EQ(b.items.size(), 1u);
  const auto l1 = b.lease_until, l2 = l1 + 5000;
  std::vector<storage::held_lease> leases{{41101, l2, l1, l1}};
  auto [ec2, renewed] = run(storage::renew(store, "sds", "dgfa", leases));
  ASSERT_EQ(renewed, std::vector<bool>{true});
  // The claim's lease alone is no longer ours...
  std::vector<storage::ack_item> stale{{41101, l1, 0, storage::outcome::done, 0, 0, {}, {}}};
  auto [ec3, r3] = run(storage::ack_batch(store, "sds", "dgfa", stale, 5));
  ASSERT_FALSE(ec3);
  EXPECT_EQ(r3, std::vector<bool>{false});
  EXPECT_EQ(score(41101), l2);
  // ...but with the renewal's as the other lease that may be ours, it is recorded.
  std::vector<storage::ack_item> both{{41101, l1, l2, storage::outcome::done, 0, 0, {}, {}}};
  auto [ec4, r4] = run(storage::ack_batch(store, "sds", "dgfa", both, 5));
  ASSERT_FALSE(ec4);
  EXPECT_EQ(r4, std::vector<bool>{true});
  EXPECT_FALSE(score(41101));
  EXPECT_EQ(status_of(41101, "dgfa"), "done");
}

TEST_F(acks_test, ordered_buckets_move_on_and_attempt_histories_are_kept) {
  const auto now = storage::now_ms();
  auto a = msg(41201, "sds", now - 3000), b = msg(41202, "sds", now - 2000);
  auto c = msg(41203, "sds", now - 1000);
  c.bucket = "another";
  save_ordered({&a, &b, &c});
  ASSERT_EQ(queue_ids(redis, q), (std::vector<std::string>{"41201", "41203"}));
  auto [ec, batch] = run(store.claim("sds", "dgfa", storage::now_ms(), 2000, 10));
  ASSERT_EQ(batch.items.size(), 2u);
  const auto l = batch.lease_until;
  // 41201 done: its bucket moves on to 41202; 41203 failed for good (its bucket is empty
  // after it), with an attempt history entry.
  std::string entry = R"({"n":1,"outcome":"failure"})";
  std::vector<storage::ack_item> items{
      {41201, l, 0, storage::outcome::done, 0, 0, a.bucket, {}},
      {41203, l, 0, storage::outcome::failure, 0, 1597360800, c.bucket, entry},
  };
  auto [ec2, recorded] = run(storage::ack_batch(store, "sds", "dgfa", items, 5));
  ASSERT_FALSE(ec2);
  EXPECT_EQ(recorded, (std::vector<bool>{true, true}));
  EXPECT_EQ(queue_ids(redis, q), (std::vector<std::string>{"41202"}));
  EXPECT_EQ(score(41202), b.due_ms);
  EXPECT_EQ(status_of(41203, "dgfa"), "failure");
  EXPECT_EQ(redis.cmd({"HGET", keys.base("sds") + "a:41203", "dgfa"}).str, entry);
  EXPECT_GT(redis.cmd({"PTTL", keys.base("sds") + "a:41203"}).integer, 0);
}

TEST_F(acks_test, a_delivery_claimed_again_while_a_late_attempt_ran_is_recorded_once) {
  auto m = msg(41301, "sds", storage::now_ms() - 10);
  for (auto e : save({m})) ASSERT_FALSE(e);
  auto [ec, first] = run(store.claim("sds", "dgfa", storage::now_ms(), 2000, 10));
  ASSERT_EQ(first.items.size(), 1u);
  // Its lease ran out; claimed again (another lease) while the first attempt still ran: the
  // outcomes of both attempts come in one batch, the late one's first.
  auto [ec2, again] = run(store.claim("sds", "dgfa", first.lease_until + 1, 2000, 10));
  ASSERT_EQ(again.items.size(), 1u);
  std::vector<storage::ack_item> items{
      {41301, first.lease_until, 0, storage::outcome::done, 0, 0, {}, {}},
      {41301, again.lease_until, 0, storage::outcome::retry, again.lease_until + 60000, 0, {}, {}},
  };
  auto [ec3, recorded] = run(storage::ack_batch(store, "sds", "dgfa", items, 5));
  ASSERT_FALSE(ec3);
  EXPECT_EQ(recorded, (std::vector<bool>{false, true}));
  EXPECT_EQ(score(41301), again.lease_until + 60000);
  EXPECT_EQ(status_of(41301, "dgfa"), "doing");
  EXPECT_EQ(attempts_of(41301), 2);
}

TEST_F(acks_test, nothing_to_record_sends_nothing) {
  redis.cmd({"CONFIG", "RESETSTAT"});
  auto [ec, recorded] = run(storage::ack_batch(store, "sds", "dgfa", {}, 5));
  EXPECT_FALSE(ec);
  EXPECT_TRUE(recorded.empty());
  EXPECT_EQ(evalsha_calls(), 0);
}

}  // namespace
}  // namespace dmq::test
