// record_v1_test: records written before the v2 format (storage/record.h: what a Redis
// filled by an older dmq holds) are still read and changed right by every script that
// touches a record, and by C++. Each test saves messages, rewrites their records as v1
// (storage::encode_v1, keeping the expiry), then runs the operations. The scripts splice
// a status into a v1 record as v1 (claim-1, ack-2 and ack_batch-1, which share lib/ack.lua,
// unclaim-1) and write a record they re-encode as v2 (cancel, settle, solved, retry,
// reschedule): its fields must survive.
#include <cctype>

#include "storage/acks.h"
#include "storage/browse.h"
#include "storage/operate.h"
#include "store_fixture.h"

namespace dmq::test {
namespace {

struct record_v1_test : store_test {
  storage::browse browse{store};
  storage::operate operate{store};
  std::map<std::uint64_t, storage::record> before;  // each message's record when made v1

  std::string raw(std::uint64_t id) { return redis.cmd({"GET", keys.message("sds", id)}).str; }
  bool is_v1(std::uint64_t id) {
    auto s = raw(id);
    return !s.empty() && std::isdigit(static_cast<unsigned char>(s[0]));
  }
  bool is_v2(std::uint64_t id) { return raw(id).starts_with('~'); }
  long long pttl(std::uint64_t id) { return redis.cmd({"PTTL", keys.message("sds", id)}).integer; }
  int attempts_of(std::uint64_t id, const std::string& consumer) {
    auto r = rec(id);
    const auto* c = r ? r->status(consumer) : nullptr;
    return c ? c->attempts : -1;
  }

  // to_v1 rewrites message id's record as an older dmq wrote it, keeping its expiry.
  void to_v1(std::uint64_t id) {
    auto r = rec(id);
    ASSERT_TRUE(r);
    ASSERT_TRUE(is_v2(id)) << raw(id);
    redis.cmd({"SET", keys.message("sds", id), storage::encode_v1(*r), "KEEPTTL"});
    ASSERT_TRUE(is_v1(id)) << raw(id);
    before[id] = *r;
  }
  // save_v1 saves msgs and makes their records v1.
  void save_v1(const std::vector<model::message>& ms) {
    for (auto& e : save(ms)) ASSERT_FALSE(e) << e.message();
    for (const auto& m : ms) to_v1(m.id);
  }
  // same_data: the record of id has the data it had when made v1.
  void expect_same_data(std::uint64_t id) {
    auto r = rec(id);
    ASSERT_TRUE(r) << raw(id);
    const auto& b = before.at(id);
    EXPECT_EQ(r->msg.due_ms, b.msg.due_ms);
    EXPECT_EQ(r->msg.create_ms, b.msg.create_ms);
    EXPECT_EQ(r->data_expire_at_ms, b.data_expire_at_ms);
    EXPECT_EQ(r->msg.cmd, b.msg.cmd);
    EXPECT_EQ(r->msg.bucket, b.msg.bucket);
    EXPECT_EQ(r->msg.request_id, b.msg.request_id);
    EXPECT_EQ(r->msg.params, b.msg.params);
  }
  // due_now: a message due a second ago (created now: its creation is after its due time).
  model::message due_now(std::uint64_t id) { return msg(id, "sds", storage::now_ms() - 1000); }
  storage::claim_batch claim(const std::string& consumer, std::int64_t now_ms) {
    auto [ec, b] = run(store.claim("sds", consumer, now_ms, 10000, 10));
    EXPECT_FALSE(ec) << ec.message();
    return b;
  }
};

TEST_F(record_v1_test, claim_and_ack_read_a_v1_record_and_keep_it_v1) {
  auto m = due_now(101);
  save_v1({m});
  auto [ec0, detail] = run(store.detail("sds", 101));
  ASSERT_FALSE(ec0);
  ASSERT_TRUE(detail);
  EXPECT_EQ(detail->params, m.params);

  auto b = claim("dgfa", storage::now_ms());
  ASSERT_EQ(b.items.size(), 1u);
  EXPECT_EQ(b.items[0].id, 101u);
  EXPECT_EQ(b.items[0].attempt, 1);
  EXPECT_EQ(b.items[0].due_ms, m.due_ms);
  EXPECT_EQ(b.items[0].params, m.params);
  EXPECT_EQ(b.items[0].request_id, m.request_id);
  EXPECT_EQ(b.items[0].bucket, m.bucket);
  EXPECT_TRUE(is_v1(101)) << raw(101);
  EXPECT_EQ(status_of(101, "dgfa"), "doing");
  EXPECT_EQ(attempts_of(101, "dgfa"), 1);
  EXPECT_EQ(status_of(101, "fghyds"), "waiting");

  auto [ec1, ok] = run(store.ack("sds", "dgfa", 101, b.lease_until, storage::outcome::done, 0, 0));
  ASSERT_FALSE(ec1);
  EXPECT_TRUE(ok);
  EXPECT_TRUE(is_v1(101)) << raw(101);
  EXPECT_EQ(status_of(101, "dgfa"), "done");
  EXPECT_GT(pttl(101), 0);
  expect_same_data(101);

  // The other consumer fails it; retry-2 reads the v1 record and writes it again as v2.
  auto b2 = claim("fghyds", storage::now_ms());
  ASSERT_EQ(b2.items.size(), 1u);
  run(store.ack("sds", "fghyds", 101, b2.lease_until, storage::outcome::failure, 0, 1));
  EXPECT_EQ(status_of(101, "fghyds"), "failure");
  EXPECT_TRUE(is_v1(101));
  EXPECT_FALSE(redis.cmd({"ZSCORE", keys.pending("sds", "fghyds"), "101"}).is_nil());
  std::vector<std::uint64_t> ids{101};
  auto [ec2, again] = run(store.retry("sds", "fghyds", ids));
  ASSERT_FALSE(ec2);
  EXPECT_EQ(again, std::vector<bool>{true});
  EXPECT_TRUE(is_v2(101)) << raw(101);
  EXPECT_EQ(status_of(101, "fghyds"), "waiting");
  EXPECT_EQ(attempts_of(101, "fghyds"), 0);
  EXPECT_EQ(status_of(101, "dgfa"), "done");
  EXPECT_EQ(attempts_of(101, "dgfa"), 1);
  EXPECT_GT(pttl(101), 0);
  expect_same_data(101);  // Lua's base-36 header, a creation after the due time included
}

TEST_F(record_v1_test, unclaim_retry_and_release_give_attempts_back_in_a_v1_record) {
  save_v1({due_now(201)});
  // unclaim-1 (a claim whose answer was lost): due again, the attempt given back.
  auto now = storage::now_ms();
  auto b = claim("dgfa", now);
  ASSERT_EQ(b.items.size(), 1u);
  EXPECT_EQ(attempts_of(201, "dgfa"), 1);
  auto [ec, n] = run(store.run_script("unclaim-1", 1,
                                      {keys.queue("sds", "dgfa"), keys.base("sds"), "dgfa",
                                       std::to_string(b.lease_until), std::to_string(now)}));
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(n.integer, 1);
  EXPECT_EQ(status_of(201, "dgfa"), "waiting");
  EXPECT_EQ(attempts_of(201, "dgfa"), 0);
  EXPECT_TRUE(is_v1(201)) << raw(201);

  auto b2 = claim("dgfa", storage::now_ms());
  ASSERT_EQ(b2.items.size(), 1u);
  EXPECT_EQ(b2.items[0].attempt, 1);
  run(store.ack("sds", "dgfa", 201, b2.lease_until, storage::outcome::retry, storage::now_ms() - 1,
                0));
  EXPECT_EQ(status_of(201, "dgfa"), "doing");
  EXPECT_EQ(attempts_of(201, "dgfa"), 1);

  auto b3 = claim("dgfa", storage::now_ms());
  ASSERT_EQ(b3.items.size(), 1u);
  EXPECT_EQ(b3.items[0].attempt, 2);
  run(store.ack("sds", "dgfa", 201, b3.lease_until, storage::outcome::release,
                storage::now_ms() - 1, 0));
  EXPECT_EQ(status_of(201, "dgfa"), "doing");
  EXPECT_EQ(attempts_of(201, "dgfa"), 1);
  EXPECT_TRUE(is_v1(201)) << raw(201);
  expect_same_data(201);
}

TEST_F(record_v1_test, outcomes_recorded_together_change_v1_records_in_place) {
  save_v1({due_now(231), due_now(232), due_now(233)});
  auto b = claim("dgfa", storage::now_ms());
  ASSERT_EQ(b.items.size(), 3u);
  auto l = b.lease_until;
  std::vector<storage::ack_item> items{
      {231, l, 0, storage::outcome::done, 0, 0, {}, {}},
      {232, l, 0, storage::outcome::failure, 0, 1, {}, {}},
      {233, l, 0, storage::outcome::release, storage::now_ms() - 1, 0, {}, {}}};
  auto [ec, recorded] = run(storage::ack_batch(store, "sds", "dgfa", items, 5));
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(recorded, (std::vector<bool>{true, true, true}));
  EXPECT_EQ(status_of(231, "dgfa"), "done");
  EXPECT_EQ(attempts_of(231, "dgfa"), 1);
  EXPECT_EQ(status_of(232, "dgfa"), "failure");
  EXPECT_FALSE(redis.cmd({"ZSCORE", keys.pending("sds", "dgfa"), "232"}).is_nil());
  EXPECT_EQ(status_of(233, "dgfa"), "waiting");
  EXPECT_EQ(attempts_of(233, "dgfa"), 0);
  for (std::uint64_t id : {231, 232, 233}) {
    EXPECT_TRUE(is_v1(id)) << raw(id);
    EXPECT_EQ(status_of(id, "fghyds"), "waiting");
    expect_same_data(id);
  }
}

TEST_F(record_v1_test, a_v1_record_whose_data_expired_fails_at_its_claim) {
  save_v1({due_now(251)});
  auto b = claim("dgfa", before.at(251).data_expire_at_ms + 1);
  EXPECT_TRUE(b.items.empty());
  ASSERT_EQ(b.dropped.size(), 1u);
  EXPECT_EQ(b.dropped[0].why, "expired");
  EXPECT_EQ(status_of(251, "dgfa"), "failure");
  EXPECT_FALSE(redis.cmd({"ZSCORE", keys.pending("sds", "dgfa"), "251"}).is_nil());
}

TEST_F(record_v1_test, cancel_settle_and_solved_rewrite_v1_records_as_v2) {
  save_v1({msg(301), msg(302), due_now(303)});
  EXPECT_EQ(run(store.cancel("sds", 301)).second, 1);
  EXPECT_EQ(status_of(301, "dgfa"), "cancelled");
  EXPECT_EQ(status_of(301, "fghyds"), "cancelled");
  EXPECT_EQ(queue_ids(redis, keys.queue("sds", "dgfa")), (std::vector<std::string>{"303", "302"}));
  EXPECT_TRUE(is_v2(301));
  expect_same_data(301);

  auto [ec, r] = run(store.run_script("settle-1", 1,
                                      {keys.message("sds", 302), keys.base("sds"), "302",
                                       std::to_string(storage::now_ms() + 60000), "revoke", ""}));
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(r.integer, 0);
  EXPECT_EQ(status_of(302, "dgfa"), "cancelled");
  EXPECT_EQ(status_of(302, "fghyds"), "cancelled");
  EXPECT_EQ(queue_ids(redis, keys.queue("sds", "dgfa")), std::vector<std::string>{"303"});
  expect_same_data(302);

  auto b = claim("dgfa", storage::now_ms());
  ASSERT_EQ(b.items.size(), 1u);
  run(store.ack("sds", "dgfa", 303, b.lease_until, storage::outcome::failure, 0, 1));
  std::vector<std::uint64_t> ids{303};
  auto [ec2, solved] = run(store.solved("sds", "dgfa", ids));
  ASSERT_FALSE(ec2);
  EXPECT_EQ(solved, std::vector<bool>{true});
  EXPECT_EQ(status_of(303, "dgfa"), "done");
  EXPECT_EQ(attempts_of(303, "dgfa"), 1);
  EXPECT_EQ(status_of(303, "fghyds"), "waiting");
  EXPECT_TRUE(is_v2(303));
  expect_same_data(303);
}

TEST_F(record_v1_test, reschedule_and_page_read_v1_records) {
  save_v1({msg(401), msg(402)});
  auto due = before.at(401).msg.due_ms + 3600000;
  auto [ec, moved] = run(operate.reschedule("sds", 401, due));
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(moved, 1);
  auto r = rec(401);
  ASSERT_TRUE(r);
  EXPECT_TRUE(is_v2(401));
  EXPECT_EQ(r->msg.due_ms, due);
  EXPECT_EQ(r->msg.create_ms, before.at(401).msg.create_ms);
  EXPECT_EQ(r->data_expire_at_ms, due + 4 * 86400000LL);
  EXPECT_EQ(r->msg.params, before.at(401).msg.params);
  EXPECT_EQ(redis.cmd({"ZSCORE", keys.queue("sds", "fghyds"), "401"}).str, std::to_string(due));

  storage::page_query q;
  q.max = due + 1;
  q.cmd = "sds:create:order";
  q.q = "order_id";
  auto [ec2, p] = run(browse.scheduled("sds", "dgfa", q));
  ASSERT_FALSE(ec2) << ec2.message();
  ASSERT_EQ(p.list.size(), 2u);
  EXPECT_EQ(p.list[0].id, 402u);  // still v1
  EXPECT_EQ(p.list[0].cmd, "sds:create:order");
  EXPECT_EQ(p.list[0].request_id, "rid-1");
  EXPECT_TRUE(is_v1(402));
}

TEST_F(record_v1_test, ordered_saves_and_unbucket_read_v1_heads) {
  auto now = storage::now_ms();
  auto a = msg(501, "sds", now + 60000), b = msg(502, "sds", now + 70000);
  save_ordered({&a, &b});
  to_v1(501);
  to_v1(502);
  // save-1 reads the v1 head: not started, so an earlier message takes its place.
  auto c = msg(503, "sds", now + 50000);
  save_ordered({&c});
  EXPECT_EQ(queue_ids(redis, keys.queue("sds", "dgfa")), std::vector<std::string>{"503"});
  // unbucket-2 reads the v1 records: both wait, so both join the queue.
  auto [ec, released] = run(store.unbucket([](const auto&, const auto&) { return true; }));
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(queue_ids(redis, keys.queue("sds", "dgfa")),
            (std::vector<std::string>{"503", "501", "502"}));
  EXPECT_TRUE(is_v1(501));
  EXPECT_TRUE(is_v1(502));
}

}  // namespace
}  // namespace dmq::test
