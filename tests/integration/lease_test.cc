// lease_test: the heartbeat on leases (storage/lease.h, renew-1.lua) and the ack's check of
// a lease that renewals moved (ack-2.lua), on a real redis-server.
#include "storage/lease.h"

#include "store_fixture.h"

namespace dmq::test {
namespace {

struct lease_test : store_test {
  // claim_one saves a due message with id and claims it for dgfa with a 2 s lease.
  storage::claim_batch claim_one(std::uint64_t id) {
    auto m = msg(id, "sds", storage::now_ms() - 10);
    std::vector<storage::to_save> v{{&m, consumers}};
    EXPECT_FALSE(run(store.save(v))[0]);
    auto [ec, b] = run(store.claim("sds", "dgfa", storage::now_ms(), 2000, 10));
    EXPECT_FALSE(ec);
    EXPECT_EQ(b.items.size(), 1u);
    return b;
  }
  std::int64_t score(std::uint64_t id) {
    return redis.cmd({"ZSCORE", keys.queue("sds", "dgfa"), std::to_string(id)})
        .as_int()
        .value_or(0);
  }
};

TEST_F(lease_test, a_renewal_moves_a_lease_that_is_ours_and_the_ack_follows_it) {
  auto b = claim_one(31001);
  const auto l1 = b.lease_until;
  EXPECT_EQ(score(31001), l1);
  // Renewed with the claim's token: the score moves.
  std::vector<storage::held_lease> leases{{31001, l1 + 5000, l1, l1}};
  auto [ec, ok] = run(storage::renew(store, "sds", "dgfa", leases));
  ASSERT_FALSE(ec);
  ASSERT_EQ(ok, std::vector<bool>{true});
  EXPECT_EQ(score(31001), l1 + 5000);
  // The claim's own token no longer acks it alone...
  auto [ec2, stale] = run(store.ack("sds", "dgfa", 31001, l1, storage::outcome::retry, l1 + 1, 0));
  ASSERT_FALSE(ec2);
  EXPECT_FALSE(stale);
  EXPECT_EQ(score(31001), l1 + 5000);
  // ...but with the renewal's as the other score that may be ours, it does (an ack sent
  // while the renewal's answer was on its way).
  auto [ec3, acked] = run(
      store.ack("sds", "dgfa", 31001, l1, storage::outcome::done, 0, 0, nullptr, {}, 0, l1 + 5000));
  ASSERT_FALSE(ec3);
  EXPECT_TRUE(acked);
  EXPECT_TRUE(redis.cmd({"ZSCORE", keys.queue("sds", "dgfa"), "31001"}).is_nil());
}

TEST_F(lease_test, a_lease_claimed_again_by_another_is_not_renewed) {
  auto b = claim_one(31002);
  // Its lease ran out and another dispatcher claimed it again: another score.
  auto [ec, again] = run(store.claim("sds", "dgfa", b.lease_until + 1, 2000, 10));
  ASSERT_FALSE(ec);
  ASSERT_EQ(again.items.size(), 1u);
  std::vector<storage::held_lease> leases{
      {31002, b.lease_until + 60000, b.lease_until, b.lease_until}};
  auto [ec2, ok] = run(storage::renew(store, "sds", "dgfa", leases));
  ASSERT_FALSE(ec2);
  EXPECT_EQ(ok, std::vector<bool>{false});
  EXPECT_EQ(score(31002), again.lease_until);
  // Renewals of a delivery acknowledged meanwhile find nothing either.
  run(store.ack("sds", "dgfa", 31002, again.lease_until, storage::outcome::done, 0, 0));
  leases = {{31002, again.lease_until + 60000, again.lease_until, again.lease_until}};
  auto [ec3, ok3] = run(storage::renew(store, "sds", "dgfa", leases));
  ASSERT_FALSE(ec3);
  EXPECT_EQ(ok3, std::vector<bool>{false});
  EXPECT_EQ(score(31002), 0);
}

}  // namespace
}  // namespace dmq::test
