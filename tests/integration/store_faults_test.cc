// store_faults_test: the store when Redis is full, stalls, loses a record, or a save is
// sent twice; every case against a real redis-server (issue 12, section 1).
#include <gtest/gtest.h>

#include <algorithm>

#include "store_fixture.h"
#include "support/fault_proxy.h"
#include "util/metrics.h"

using namespace dmq;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using test::queue_ids;

// The same fixture under its own suite name (gtest wants one fixture class per suite name).
struct store_faults : test::store_test {};

namespace {

// fill_to_oom fills Redis with 4 MB of junk and sets maxmemory (noeviction) 1 MB below
// what it then uses, so every write that grows memory is refused (OOM); returns whether one is.
bool fill_to_oom(test::redis_server& redis) {
  std::string junk(64 * 1024, 'j');
  for (int i = 0; i < 64; ++i) redis.cmd({"SET", "junk:" + std::to_string(i), junk});
  auto info = redis.cmd({"INFO", "memory"}).str;
  auto used = std::stoll(info.substr(info.find("used_memory:") + 12));
  redis.cmd({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
  redis.cmd({"CONFIG", "SET", "maxmemory", std::to_string(used - 1024 * 1024)});
  auto r = redis.cmd({"SET", "junk:more", "x"});
  return r.is_error() && r.str.starts_with("OOM");
}

}  // namespace

TEST_F(store_faults, a_full_redis_refuses_saves_by_name_but_claims_and_acks_go_on) {
  auto now = storage::now_ms();
  std::vector<model::message> due;
  for (std::uint64_t i = 0; i < 5; ++i) due.push_back(msg(20001 + i, "sds", now - 10));
  for (auto& e : save(due)) ASSERT_FALSE(e) << e.message();
  ASSERT_TRUE(fill_to_oom(redis));

  // A save is refused whole, and says why.
  auto errs = save({msg(20100, "sds", now - 10)});
  ASSERT_EQ(errs[0], redis::errc::out_of_memory) << errs[0].message();
  EXPECT_NE(errs[0].message().find("Redis out of memory"), std::string::npos);
  EXPECT_TRUE(redis.cmd({"GET", keys.message("sds", 20100)}).is_nil());
  auto m = msg(20101, "sds", now - 10);
  std::vector<storage::to_save> ordered{{&m, consumers, true}};
  EXPECT_EQ(run(store.save(ordered))[0], redis::errc::out_of_memory);

  // Delivering is what frees memory: claims and acks still work at the limit.
  auto [ec, b] = run(store.claim("sds", "dgfa", storage::now_ms(), 10000, 10));
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_EQ(b.items.size(), 5u);
  for (auto& c : b.items) {
    auto [ec2, ok] =
        run(store.ack("sds", "dgfa", c.id, b.lease_until, storage::outcome::done, 0, 0));
    ASSERT_FALSE(ec2) << ec2.message();
    EXPECT_TRUE(ok);
  }
  EXPECT_EQ(status_of(20001, "dgfa"), "done");
  auto [ec3, fail] = run(store.claim("sds", "fghyds", storage::now_ms(), 10000, 1));
  ASSERT_EQ(fail.items.size(), 1u);
  EXPECT_TRUE(run(store.ack("sds", "fghyds", fail.items[0].id, fail.lease_until,
                            storage::outcome::failure, 0, 1))
                  .second);
  EXPECT_EQ(run(store.cancel("sds", 20005)).second, -1) << "cancel answers at the limit too";
}

TEST_F(store_faults, a_save_sent_again_after_delivery_resets_nothing) {
  auto m = msg(21001, "sds", storage::now_ms() - 10);
  ASSERT_FALSE(save({m})[0]);
  auto [ec, b] = run(store.claim("sds", "dgfa", storage::now_ms(), 10000, 10));
  ASSERT_EQ(b.items.size(), 1u);
  ASSERT_TRUE(
      run(store.ack("sds", "dgfa", 21001, b.lease_until, storage::outcome::done, 0, 0)).second);
  // The same save again (a retry after a broken connection): nothing is reset.
  ASSERT_FALSE(save({m})[0]);
  EXPECT_EQ(status_of(21001, "dgfa"), "done");
  auto [ec2, again] = run(store.claim("sds", "dgfa", storage::now_ms(), 10000, 10));
  EXPECT_TRUE(again.items.empty()) << "a delivered message is not delivered twice";
  // Ordered saves too.
  auto o = msg(21002, "sds", storage::now_ms() - 10);
  save_ordered({&o});
  set_status(21002, "dgfa", "done");
  save_ordered({&o});
  EXPECT_EQ(status_of(21002, "dgfa"), "done");
}

TEST_F(store_faults, a_save_that_timed_out_is_answered_not_saved_and_then_never_delivered) {
  util::metrics metrics;
  store.count_into(metrics);
  auto& revoked = metrics.counter("dmq_saves_unknown_total", "", {{"result", "revoked"}});
  auto m = msg(22001, "sds", storage::now_ms() - 10);
  redis.pause();  // Redis takes the save into its socket buffer and answers nothing
  auto errs = save({m});
  ASSERT_TRUE(errs[0]) << "no answer from Redis: not saved";
  redis.resume();  // the buffered save may now run; the revoke must win either way
  run_until([&] { return revoked == 1; }, 10s);
  auto [ec, b] = run(store.claim("sds", "dgfa", storage::now_ms(), 10000, 10));
  ASSERT_FALSE(ec);
  EXPECT_TRUE(b.items.empty()) << "answered not saved, so never delivered";
  auto st = run(store.status("sds", 22001, "dgfa")).second;
  EXPECT_TRUE(!st || *st == "cancelled") << *st;
  // A late copy of the save changes nothing either.
  ASSERT_FALSE(save({m})[0]);
  auto [ec2, b2] = run(store.claim("sds", "dgfa", storage::now_ms(), 10000, 10));
  EXPECT_TRUE(b2.items.empty());
}

TEST_F(store_faults, a_save_whose_answer_was_lost_is_answered_by_what_redis_holds) {
  // Redis freezes with the save in its socket buffer; dmq's request times out (300 ms) and
  // the connection breaks; Redis wakes within the confirm bound, runs the buffered save (or
  // not, if dmq's tombstone comes first): either way the answer must match what it holds.
  for (int round = 0; round < 3; ++round) {
    auto id = 23001 + static_cast<std::uint64_t>(round);
    auto m = msg(id, "sds", storage::now_ms() - 10);
    std::vector<storage::to_save> v{{&m, consumers}};
    redis.pause();
    auto f = asio::co_spawn(ioc, store.save(v), asio::use_future);
    run_until([&] { return !conn.ready(); }, 5s);  // timed out: the answer is lost
    redis.resume();
    run_until([&] { return f.wait_for(0s) == std::future_status::ready; }, 5s);
    auto errs = f.get();
    auto [ec, b] = run(store.claim("sds", "dgfa", storage::now_ms(), 10000, 10));
    ASSERT_FALSE(ec);
    if (errs[0]) {
      EXPECT_TRUE(b.items.empty()) << "round " << round << ": answered not saved, yet delivered";
    } else {
      ASSERT_EQ(b.items.size(), 1u) << "round " << round << ": answered saved, yet not queued";
      EXPECT_EQ(b.items[0].id, id);
    }
  }
}

TEST_F(store_faults, an_ordered_bucket_moves_on_when_its_head_record_is_gone) {
  auto now = storage::now_ms();
  auto a = msg(24001, "sds", now - 3000), b = msg(24002, "sds", now - 2000);
  save_ordered({&a, &b});
  auto q = keys.queue("sds", "dgfa");
  ASSERT_EQ(queue_ids(redis, q), (std::vector<std::string>{"24001"}));
  redis.cmd({"DEL", keys.message("sds", 24001)});  // evicted, expired or deleted
  auto [ec, batch] = run(store.claim("sds", "dgfa", storage::now_ms(), 10000, 10));
  ASSERT_FALSE(ec);
  ASSERT_EQ(batch.dropped.size(), 1u);
  EXPECT_EQ(batch.dropped[0].id, 24001u);
  EXPECT_EQ(batch.dropped[0].why, "missing");
  // The bucket moved on: its next message is claimed (here or on the next claim).
  auto ids = batch.items;
  if (ids.empty()) ids = run(store.claim("sds", "dgfa", storage::now_ms(), 10000, 10)).second.items;
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids[0].id, 24002u);

  // A head gone before any claim: a new message of the bucket is not held up either.
  auto c = msg(24003, "sds", now - 1000), d = msg(24004, "sds", now - 500);
  c.bucket = d.bucket = "other";
  save_ordered({&c});
  redis.cmd({"DEL", keys.message("sds", 24003)});
  save_ordered({&d});
  EXPECT_EQ(redis.cmd({"ZSCORE", q, "24004"}).as_int(), d.due_ms);
  EXPECT_EQ(redis.cmd({"ZSCORE", q, "24003"}).type, redis::reply::kind::nil);
  EXPECT_EQ(redis.cmd({"HLEN", keys.heads("sds", "dgfa")}).integer, 2)
      << "the heads in the queue: 24002 (leased) and 24004";
}

TEST_F(store_faults, every_final_failure_is_listed_whatever_its_timestamp) {
  // A message whose data expired before delivery fails, and is listed.
  save({msg(25001, "sds", storage::now_ms() - 10)});
  rewrite(25001, [](storage::record& r) { r.data_expire_at_ms = storage::now_ms() - 1; });
  auto [ec, b] = run(store.claim("sds", "dgfa", storage::now_ms(), 10000, 10));
  ASSERT_EQ(b.dropped.size(), 1u);
  EXPECT_EQ(b.dropped[0].why, "expired");
  auto page = run(store.pending("sds", "dgfa", 0, std::numeric_limits<std::int64_t>::max(), 100));
  ASSERT_EQ(page.second.list.size(), 1u);
  EXPECT_EQ(page.second.list[0].member, "25001");

  // A failure with a timestamp from long ago stays listed while its record lives.
  auto old = msg(25002, "sds", 1000 * 1000);  // due in 1970, created now
  save({old});
  auto [ec2, b2] = run(store.claim("sds", "fghyds", storage::now_ms(), 10000, 10));
  ASSERT_EQ(b2.items.size(), 1u);
  ASSERT_TRUE(run(store.ack("sds", "fghyds", 25002, b2.lease_until, storage::outcome::failure, 0,
                            old.due_ms / 1000))
                  .second);
  auto listed = [&] { return queue_ids(redis, keys.pending("sds", "fghyds")); };
  auto has = [](const std::vector<std::string>& v, const char* id) {
    return std::find(v.begin(), v.end(), id) != v.end();
  };
  EXPECT_TRUE(has(listed(), "25002")) << "trimmed the moment it was added";
  // Once its record is gone, the next failure's trim takes it out.
  redis.cmd({"DEL", keys.message("sds", 25002)});
  save({msg(25003, "sds", storage::now_ms() - 10)});
  auto [ec3, b3] = run(store.claim("sds", "fghyds", storage::now_ms(), 10000, 10));
  ASSERT_EQ(b3.items.size(), 1u);
  run(store.ack("sds", "fghyds", 25003, b3.lease_until, storage::outcome::failure, 0,
                storage::now_ms() / 1000));
  EXPECT_TRUE(has(listed(), "25003"));
  EXPECT_FALSE(has(listed(), "25002")) << "its record is gone: trimmed";
}

TEST_F(store_faults, a_retried_failure_is_queued_at_the_retry_time_not_its_old_due_time) {
  auto m = msg(26001, "sds", storage::now_ms() - 60000);
  save({m});
  auto [ec, b] = run(store.claim("sds", "dgfa", storage::now_ms(), 10000, 10));
  ASSERT_EQ(b.items.size(), 1u);
  EXPECT_EQ(b.items[0].queued_ms, m.due_ms);
  run(store.ack("sds", "dgfa", 26001, b.lease_until, storage::outcome::failure, 0, 0));
  auto before = storage::now_ms();
  ASSERT_TRUE(run(store.retry("sds", "dgfa", std::vector<std::uint64_t>{26001})).second[0]);
  auto [ec2, b2] = run(store.claim("sds", "dgfa", storage::now_ms(), 10000, 10));
  ASSERT_EQ(b2.items.size(), 1u);
  EXPECT_EQ(b2.items[0].attempt, 1);
  EXPECT_GE(b2.items[0].queued_ms, before) << "lateness counts from the /retry";
}

TEST_F(store_faults, a_tombstone_is_no_message) {
  redis.cmd({"SET", keys.message("sds", 27001), ""});
  auto [ec, st] = run(store.status("sds", 27001, "dgfa"));
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_FALSE(st.has_value());
  EXPECT_EQ(run(store.cancel("sds", 27001)).second, 0);
  EXPECT_FALSE(run(store.retry("sds", "dgfa", std::vector<std::uint64_t>{27001})).second[0]);
  // A late save of the revoked id stores nothing and its queue entry is dropped.
  auto m = msg(27001, "sds", storage::now_ms() - 10);
  ASSERT_FALSE(save({m})[0]);
  EXPECT_EQ(redis.cmd({"GET", keys.message("sds", 27001)}).str, "");
  auto [ec2, b] = run(store.claim("sds", "dgfa", storage::now_ms(), 10000, 10));
  EXPECT_TRUE(b.items.empty());
  ASSERT_EQ(b.dropped.size(), 1u);
  EXPECT_EQ(b.dropped[0].why, "revoked");
}

TEST_F(store_faults, a_claim_whose_answer_was_lost_is_undone_on_the_next_connection) {
  // The store talks to Redis through a proxy, so the test decides when it may reconnect.
  test::fault_proxy proxy(redis.port());
  redis::connection via{ioc.get_executor(), options(proxy.port())};
  storage::store s{via, keys, scripts, std::chrono::hours(24 * 4)};
  via.set_on_connect([&](redis::connection& c) { return s.on_connect(c); });
  via.start();
  ASSERT_TRUE(run(via.wait_ready(5s)));
  save({msg(28001, "sds", storage::now_ms() - 10)});

  // Redis freezes with the claim in its socket; the claim times out (its answer is lost),
  // and Redis runs it when it wakes, before the store can connect again.
  redis.pause();
  auto f = asio::co_spawn(ioc, s.claim("sds", "dgfa", s.redis_clock().now_ms(), 60000, 10),
                          asio::use_future);
  run_until([&] { return f.wait_for(0s) == std::future_status::ready; }, 5s);
  ASSERT_TRUE(f.get().first) << "the claim had no answer";
  proxy.hold();
  redis.resume();
  ASSERT_TRUE(test::wait_until([&] { return status_of(28001, "dgfa") == "doing"; }, 5s))
      << "the lost claim ran in Redis";
  // Without the undo, the delivery would wait for its lease (a minute here).
  proxy.release();
  run_until([&] { return via.ready(); }, 10s);
  EXPECT_EQ(status_of(28001, "dgfa"), "waiting");
  auto [ec, b] = run(s.claim("sds", "dgfa", s.redis_clock().now_ms(), 60000, 10));
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_EQ(b.items.size(), 1u) << "due again at once";
  EXPECT_EQ(b.items[0].attempt, 1) << "the lost claim's attempt was given back";
  via.stop();
}

namespace {

// In a Redis Cluster, a slot being migrated can move a queue to its new master before the
// records of its messages: a claim run there (ASK) finds no record for an id that is not
// gone at all. In cluster mode such an id, if recently due, is looked at again a second
// later instead of dropped, and an ack that needs the record counts as a lost lease.
TEST_F(store_faults, in_cluster_mode_an_id_whose_record_is_not_there_yet_is_kept) {
  storage::keys cluster_keys(keys.prefix(), true);
  storage::store cluster_store{conn, cluster_keys, scripts, std::chrono::hours(24 * 4)};
  auto now = storage::now_ms();
  auto m = msg(25001, "sds", now - 1000);
  ASSERT_FALSE(save({m})[0]);
  auto key = keys.message("sds", 25001);
  auto record = redis.cmd({"GET", key}).str;
  redis.cmd({"DEL", key});  // still on the old master
  auto [ec, batch] = run(cluster_store.claim("sds", "dgfa", storage::now_ms(), 10000, 10));
  ASSERT_FALSE(ec);
  EXPECT_TRUE(batch.dropped.empty());
  EXPECT_TRUE(batch.items.empty());
  auto q = keys.queue("sds", "dgfa");
  auto score = std::stoll(redis.cmd({"ZSCORE", q, "25001"}).str);
  EXPECT_GE(score, now) << "looked at again later, not now";
  // The record arrives: the next claim after that second delivers it.
  redis.cmd({"SET", key, record});
  auto [ec2, later] = run(cluster_store.claim("sds", "dgfa", score, 10000, 10));
  ASSERT_FALSE(ec2);
  ASSERT_EQ(later.items.size(), 1u);
  EXPECT_EQ(later.items[0].id, 25001u);
  // Its ack on a master that has the queue but not (yet) the record changes nothing.
  redis.cmd({"DEL", key});
  auto [ec3, ours] = run(cluster_store.ack("sds", "dgfa", 25001, later.lease_until,
                                           storage::outcome::done, 0, now / 1000));
  ASSERT_FALSE(ec3);
  EXPECT_FALSE(ours);
  EXPECT_FALSE(redis.cmd({"ZSCORE", q, "25001"}).is_nil()) << "still queued: delivered again";
  // On a single Redis nothing is on its way: the same id is dropped as missing.
  auto [ec4, single] = run(store.claim("sds", "dgfa", score + 20000, 10000, 10));
  ASSERT_FALSE(ec4);
  ASSERT_EQ(single.dropped.size(), 1u);
  EXPECT_EQ(single.dropped[0].why, "missing");
}

}  // namespace
