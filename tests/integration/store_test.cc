// store_test: the Redis connection and the store against a real redis-server on a free port.
#include "storage/store.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "storage/id_source.h"
#include "store_fixture.h"

namespace asio = boost::asio;
using namespace dmq;
using namespace std::chrono_literals;

using test::queue_ids;
using test::store_test;

TEST_F(store_test, save_stores_message_statuses_and_deliveries_atomically) {
  auto m = msg(1001);
  auto errs = save({m});
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_FALSE(errs[0]) << errs[0].message();
  auto r = rec(1001);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->msg.params, m.params);
  EXPECT_EQ(r->msg.bucket, m.bucket);
  ASSERT_EQ(r->consumers.size(), 2u);
  EXPECT_EQ(status_of(1001, "dgfa"), "waiting");
  EXPECT_EQ(status_of(1001, "fghyds"), "waiting");
  EXPECT_EQ(r->status("dgfa")->attempts, 0);
  EXPECT_EQ(redis.cmd({"ZSCORE", keys.queue("sds", "dgfa"), "1001"}).as_int(), m.due_ms);
  EXPECT_EQ(redis.cmd({"ZSCORE", keys.queue("sds", "fghyds"), "1001"}).as_int(), m.due_ms);
}

TEST_F(store_test, data_expires_after_msg_save_days_and_status_after_twice_that) {
  auto m = msg(1002);
  save({m});
  auto day = 24LL * 3600 * 1000;
  auto status_ttl = redis.cmd({"PTTL", keys.message("sds", 1002)}).integer;
  auto data_ttl = rec(1002)->data_expire_at_ms - storage::now_ms();
  auto due_in = m.due_ms - storage::now_ms();
  EXPECT_NEAR(static_cast<double>(data_ttl), static_cast<double>(4 * day + due_in), 5000);
  EXPECT_NEAR(static_cast<double>(status_ttl), static_cast<double>(8 * day + due_in), 5000);
}

TEST_F(store_test, detail_and_status_read_back_what_was_saved) {
  auto m = msg(1003);
  save({m});
  auto [ec, d] = run(store.detail("sds", 1003));
  ASSERT_FALSE(ec);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->cmd, m.cmd);
  EXPECT_EQ(d->bucket, m.bucket);
  EXPECT_EQ(d->params, m.params);
  EXPECT_EQ(d->request_id, m.request_id);
  EXPECT_EQ(d->due_ms, m.due_ms);
  EXPECT_EQ(d->create_ms, m.create_ms);
  auto [ec2, st] = run(store.status("sds", 1003, "fghyds"));
  EXPECT_EQ(st.value_or(""), "waiting");
  auto [ec3, none] = run(store.status("sds", 99999, "fghyds"));
  EXPECT_FALSE(ec3);
  EXPECT_FALSE(none.has_value());
  auto [ec4, nod] = run(store.detail("sds", 99999));
  EXPECT_FALSE(nod.has_value());
}

TEST_F(store_test, once_the_data_expired_detail_is_gone_status_stays_and_no_delivery_is_made) {
  save({msg(1005, "sds", storage::now_ms() - 10)});
  rewrite(1005, [](storage::record& r) { r.data_expire_at_ms = storage::now_ms() - 1; });
  auto [ec, d] = run(store.detail("sds", 1005));
  ASSERT_FALSE(ec);
  EXPECT_FALSE(d.has_value());
  EXPECT_EQ(run(store.status("sds", 1005, "dgfa")).second.value_or(""), "waiting");
  auto [ec2, b] = run(store.claim("sds", "dgfa", storage::now_ms(), 10000, 10));
  EXPECT_TRUE(b.items.empty());
  EXPECT_EQ(status_of(1005, "dgfa"), "failure");
  EXPECT_EQ(redis.cmd({"ZCARD", keys.queue("sds", "dgfa")}).integer, 0);
}

TEST_F(store_test, replies_of_every_kind_and_split_over_many_reads_arrive_whole_and_in_order) {
  // The reader builds replies in place (connection.cc): nested arrays, nil, integers,
  // errors, and a reply of ~1 MB, far larger than one read of the socket.
  std::string big(1 << 20, 'x');
  big[0] = 'a';
  big.back() = 'z';
  redis::command cmd;
  cmd.push("SET", "t:big", big);
  cmd.push("MULTI");
  cmd.push("RPUSH", "t:list", "1", "2", "3");
  cmd.push("LRANGE", "t:list", "0", "-1");
  cmd.push("GET", "t:none");
  cmd.push("EXEC");
  cmd.push("GET", "t:big");
  cmd.push("INCRBY", "t:big", "1");  // an error: not an integer
  cmd.push("PING");
  auto [ec, r] = run(conn.exec(cmd));
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_EQ(r.size(), 9u);
  EXPECT_EQ(r[0].str, "OK");
  EXPECT_EQ(r[1].str, "OK");
  EXPECT_EQ(r[2].str, "QUEUED");
  const auto& tx = r[5];
  ASSERT_TRUE(tx.is_array());
  ASSERT_EQ(tx.elements.size(), 3u);
  EXPECT_EQ(tx.elements[0].integer, 3);
  ASSERT_EQ(tx.elements[1].elements.size(), 3u);
  EXPECT_EQ(tx.elements[1].elements[2].str, "3");
  EXPECT_TRUE(tx.elements[2].is_nil());
  EXPECT_EQ(r[6].str.size(), big.size());
  EXPECT_EQ(r[6].str, big);
  EXPECT_TRUE(r[7].is_error());
  EXPECT_EQ(r[8].str, "PONG");
}

TEST_F(store_test, a_large_batch_is_saved_in_transactions_of_100_with_one_zadd_per_queue_each) {
  // store::save stores at most max_per_script (100) unordered messages per MULTI of native
  // commands: a SET per record, then per queue a ZRANGE of its head and one variadic ZADD.
  // No script.
  redis.cmd({"CONFIG", "RESETSTAT"});
  auto now = storage::now_ms();
  std::vector<model::message> ms;
  for (int i = 0; i < 1201; ++i) ms.push_back(msg(50000 + i, "sds", now + 60000 + i));
  auto errs = save(ms);
  for (auto& e : errs) ASSERT_FALSE(e) << e.message();
  auto info = redis.cmd({"INFO", "commandstats"}).str;
  EXPECT_NE(info.find("cmdstat_multi:calls=13,"), std::string::npos) << info;
  EXPECT_NE(info.find("cmdstat_exec:calls=13,"), std::string::npos) << info;
  EXPECT_EQ(info.find("cmdstat_eval"), std::string::npos) << info;
  EXPECT_NE(info.find("cmdstat_zadd:calls=26,"), std::string::npos) << info;    // 13 per queue
  EXPECT_NE(info.find("cmdstat_zrange:calls=26,"), std::string::npos) << info;  // 13 per queue
  EXPECT_NE(info.find("cmdstat_set:calls=1201,"), std::string::npos) << info;
  for (const auto& c : consumers) {
    auto q = keys.queue("sds", c);
    EXPECT_EQ(redis.cmd({"ZCARD", q}).integer, 1201);
    EXPECT_EQ(redis.cmd({"ZSCORE", q, "50000"}).as_int(), now + 60000);
    EXPECT_EQ(redis.cmd({"ZSCORE", q, "51200"}).as_int(), now + 60000 + 1200);
  }
}

TEST_F(store_test, a_message_without_consumers_is_stored_without_deliveries) {
  auto m = msg(1004);
  std::vector<storage::to_save> v{{&m, {}}};
  auto errs = run(store.save(v));
  EXPECT_FALSE(errs[0]);
  EXPECT_EQ(redis.cmd({"EXISTS", keys.message("sds", 1004)}).integer, 1);
  EXPECT_EQ(redis.cmd({"EXISTS", keys.queue("sds", "dgfa")}).integer, 0);
}

TEST_F(store_test, a_batch_is_one_transaction_per_project) {
  redis.cmd({"CONFIG", "RESETSTAT"});
  std::vector<model::message> ms;
  for (int i = 0; i < 50; ++i) ms.push_back(msg(2000 + i, i % 2 ? "sds" : "svs"));
  auto errs = save(ms);
  for (auto& e : errs) EXPECT_FALSE(e);
  auto info = redis.cmd({"INFO", "commandstats"}).str;
  EXPECT_NE(info.find("cmdstat_exec:calls=2,"), std::string::npos) << info;
  EXPECT_EQ(redis.cmd({"ZCARD", keys.queue("sds", "dgfa")}).integer, 25);
  EXPECT_EQ(redis.cmd({"ZCARD", keys.queue("svs", "fghyds")}).integer, 25);
}

TEST_F(store_test, save_publishes_a_wakeup_only_when_the_earliest_due_time_moves_earlier) {
  // A subscriber on the project's wake channel, as the dispatcher has.
  std::vector<std::string> wakes;
  redis::connection sub{ioc.get_executor(), options(redis.port())};
  sub.set_push_handler([&](const redis::reply& m) { wakes.push_back(m.elements.at(2).str); });
  sub.set_on_connect([&](redis::connection& c) -> asio::awaitable<std::error_code> {
    redis::command cmd;
    cmd.push("SUBSCRIBE", keys.wake_channel("sds"));
    co_return (co_await c.exec(cmd)).first;
  });
  sub.start();
  ASSERT_TRUE(run(sub.wait_ready(5s)));

  auto now = storage::now_ms();
  save({msg(3001, "sds", now + 100000)});  // the queues were empty: a wake-up each
  save({msg(3002, "sds", now + 200000)});  // not earlier: none
  save({msg(3003, "sds", now + 1000), msg(3004, "sds", now + 500)});  // earlier: the earliest
  // The wake-ups of one connection arrive in order, so 3002's would come before 3003's.
  run_until([&] { return wakes.size() >= 4; });
  auto due = [&](std::int64_t d) { return std::to_string(now + d); };
  EXPECT_EQ(wakes, (std::vector<std::string>{"dgfa " + due(100000), "fghyds " + due(100000),
                                             "dgfa " + due(500), "fghyds " + due(500)}));
  sub.stop();
}

TEST_F(store_test, save_survives_redis_losing_its_script_cache) {
  // save-1 gets NOSCRIPT and is sent again with EVAL; the transaction of unordered messages
  // uses no script. Every message reaches its queues.
  redis.cmd({"SCRIPT", "FLUSH"});
  auto m = msg(4001), o = msg(4002);
  std::vector<storage::to_save> v{{&m, consumers}, {&o, consumers, true}};
  auto errs = run(store.save(v));
  for (auto& e : errs) EXPECT_FALSE(e) << e.message();
  for (auto id : {4001, 4002}) {
    EXPECT_EQ(redis.cmd({"EXISTS", keys.message("sds", id)}).integer, 1);
    for (const auto& c : consumers)
      EXPECT_TRUE(redis.cmd({"ZSCORE", keys.queue("sds", c), std::to_string(id)}).as_int());
  }
}

TEST_F(store_test, a_batch_mixing_ordered_and_unordered_messages_stores_each_its_way) {
  redis.cmd({"CONFIG", "RESETSTAT"});
  auto now = storage::now_ms();
  auto u1 = msg(4101, "sds", now + 5000), u2 = msg(4102, "sds", now + 6000);
  auto o1 = msg(4103, "sds", now + 7000), o2 = msg(4104, "sds", now + 8000);
  std::vector<storage::to_save> v{
      {&u1, consumers}, {&o1, consumers, true}, {&u2, consumers}, {&o2, consumers, true}};
  auto errs = run(store.save(v));
  for (auto& e : errs) EXPECT_FALSE(e) << e.message();
  auto info = redis.cmd({"INFO", "commandstats"}).str;
  EXPECT_NE(info.find("cmdstat_evalsha:calls=1,"), std::string::npos) << info;  // save-1
  EXPECT_EQ(info.find("cmdstat_eval:"), std::string::npos) << info;
  EXPECT_NE(info.find("cmdstat_exec:calls=1,"), std::string::npos) << info;  // unordered
  // Both unordered messages are queued; of the bucket only its head.
  EXPECT_EQ(queue_ids(redis, keys.queue("sds", "dgfa")),
            (std::vector<std::string>{"4101", "4102", "4103"}));
  EXPECT_EQ(redis.cmd({"ZCARD", keys.bucket("sds", "dgfa", o1.bucket)}).integer, 2);
  for (auto id : {4101, 4102, 4103, 4104}) EXPECT_EQ(status_of(id, "fghyds"), "waiting");
}

TEST_F(store_test, pending_and_solved_follow_the_seed) {
  save({msg(5001), msg(5002), msg(5003)});
  auto pkey = keys.pending("sds", "dgfa");
  redis.cmd({"ZADD", pkey, "1597360839", "5001", "1597360900", "5002"});
  set_status(5001, "dgfa", "failure");
  set_status(5002, "dgfa", "failure");

  auto [ec, page] = run(store.pending("sds", "dgfa", 1597360800, 1597360850, 100));
  ASSERT_FALSE(ec);
  EXPECT_EQ(page.count, 2);
  ASSERT_EQ(page.list.size(), 1u);
  EXPECT_EQ(page.list[0].member, "5001");
  EXPECT_EQ(page.list[0].score, 1597360839);

  std::vector<std::uint64_t> ids{5001, 5003};
  auto [ec2, done] = run(store.solved("sds", "dgfa", ids));
  ASSERT_FALSE(ec2);
  EXPECT_EQ(done, (std::vector<bool>{true, false}));  // 5003 never failed
  EXPECT_EQ(status_of(5001, "dgfa"), "done");
  EXPECT_EQ(status_of(5003, "dgfa"), "waiting");
  EXPECT_EQ(redis.cmd({"ZCARD", pkey}).integer, 1);
}

TEST_F(store_test, requests_fail_fast_while_redis_is_down_and_work_again_after) {
  redis.stop();
  auto t0 = std::chrono::steady_clock::now();
  auto [ec, st] = run(store.status("sds", 1, "dgfa"));
  EXPECT_TRUE(ec);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  redis.start();
  EXPECT_TRUE(run(conn.wait_ready(5s)));
  auto errs = save({msg(6001)});
  EXPECT_FALSE(errs[0]) << errs[0].message();
}

TEST_F(store_test, a_frozen_redis_gives_a_timeout_not_a_hang) {
  redis.pause();
  auto t0 = std::chrono::steady_clock::now();
  auto [ec, st] = run(store.status("sds", 1, "dgfa"));
  auto took = std::chrono::steady_clock::now() - t0;
  redis.resume();
  EXPECT_TRUE(ec);
  EXPECT_LT(took, 2s);  // request_timeout_ms is 300
  EXPECT_TRUE(run(conn.wait_ready(5s)));
}

TEST_F(store_test, id_sources_lease_distinct_nodes_and_ids_are_unique) {
  storage::id_source a(ioc.get_executor(), conn, keys, scripts);
  storage::id_source b(ioc.get_executor(), conn, keys, scripts);
  int running = 2;
  auto ended = [&](std::exception_ptr) { --running; };
  asio::co_spawn(ioc, a.run(), ended);
  asio::co_spawn(ioc, b.run(), ended);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while ((a.node() < 0 || b.node() < 0) && std::chrono::steady_clock::now() < deadline)
    ioc.run_for(5ms);
  ASSERT_GE(a.node(), 0);
  ASSERT_GE(b.node(), 0);
  EXPECT_NE(a.node(), b.node());
  std::set<std::uint64_t> ids;
  for (int i = 0; i < 1000; ++i) {
    ids.insert(*a.next());
    ids.insert(*b.next());
  }
  EXPECT_EQ(ids.size(), 2000u);
  a.stop();
  b.stop();
  // Both run() loops must have ended before a and b go away.
  auto until = std::chrono::steady_clock::now() + 10s;
  while (running > 0 && std::chrono::steady_clock::now() < until) ioc.run_for(5ms);
  ASSERT_EQ(running, 0);
}

TEST_F(store_test, ordered_bucket_keeps_only_its_head_in_the_queue_and_moves_on_when_done) {
  auto now = storage::now_ms();
  auto a = msg(7001, "sds", now - 3000), b = msg(7002, "sds", now - 2000),
       c = msg(7003, "sds", now - 1000);
  std::vector<storage::to_save> v{
      {&a, consumers, true}, {&b, consumers, true}, {&c, consumers, true}};
  auto errs = run(store.save(v));
  ASSERT_FALSE(errs[0]);
  auto q = keys.queue("sds", "dgfa");
  EXPECT_EQ(queue_ids(redis, q), (std::vector<std::string>{"7001"}));
  EXPECT_EQ(redis.cmd({"ZCARD", keys.bucket("sds", "dgfa", a.bucket)}).integer, 3);

  // Claiming gives only the head, even though all three are due.
  auto [ec, batch] = run(store.claim("sds", "dgfa", storage::now_ms(), 10000, 10));
  ASSERT_FALSE(ec);
  ASSERT_EQ(batch.items.size(), 1u);
  EXPECT_EQ(batch.items[0].id, 7001u);
  // A retry keeps the bucket waiting on its head.
  auto [ec2, ok2] = run(store.ack("sds", "dgfa", 7001, batch.lease_until, storage::outcome::retry,
                                  storage::now_ms() + 60000, 0, &a.bucket));
  EXPECT_TRUE(ok2);
  EXPECT_EQ(queue_ids(redis, q), (std::vector<std::string>{"7001"}));
  // Done moves the bucket on to the next message, at its due time.
  auto [ec3, batch2] = run(store.claim("sds", "dgfa", storage::now_ms() + 60001, 10000, 10));
  ASSERT_EQ(batch2.items.size(), 1u);
  run(store.ack("sds", "dgfa", 7001, batch2.lease_until, storage::outcome::done, 0, 0, &a.bucket));
  EXPECT_EQ(queue_ids(redis, q), (std::vector<std::string>{"7002"}));
  EXPECT_EQ(redis.cmd({"ZSCORE", q, "7002"}).as_int(), b.due_ms);
  // Final failure moves it on too.
  auto [ec4, batch3] = run(store.claim("sds", "dgfa", storage::now_ms(), 10000, 10));
  run(store.ack("sds", "dgfa", 7002, batch3.lease_until, storage::outcome::failure, 0, 1,
                &a.bucket));
  EXPECT_EQ(queue_ids(redis, q), (std::vector<std::string>{"7003"}));
}

TEST_F(store_test, ordered_bucket_moves_on_when_its_head_expired_before_delivery) {
  auto now = storage::now_ms();
  auto a = msg(7301, "sds", now - 2000), b = msg(7302, "sds", now - 1000);
  save_ordered({&a, &b});
  auto q = keys.queue("sds", "dgfa");
  ASSERT_EQ(queue_ids(redis, q), (std::vector<std::string>{"7301"}));
  // The head's data expires (msg_save_days passed) before any dispatcher reached it.
  rewrite(7301, [](storage::record& r) { r.data_expire_at_ms = storage::now_ms() - 1; });
  auto [ec, batch] = run(store.claim("sds", "dgfa", storage::now_ms(), 10000, 10));
  ASSERT_FALSE(ec);
  EXPECT_TRUE(batch.items.empty());
  EXPECT_EQ(status_of(7301, "dgfa"), "failure");
  // The bucket moved on: the next message is in the queue at its due time and is claimed.
  EXPECT_EQ(queue_ids(redis, q), (std::vector<std::string>{"7302"}));
  EXPECT_EQ(redis.cmd({"ZSCORE", q, "7302"}).as_int(), b.due_ms);
  EXPECT_EQ(redis.cmd({"ZCARD", keys.bucket("sds", "dgfa", a.bucket)}).integer, 1);
  auto [ec2, batch2] = run(store.claim("sds", "dgfa", storage::now_ms(), 10000, 10));
  ASSERT_EQ(batch2.items.size(), 1u);
  EXPECT_EQ(batch2.items[0].id, 7302u);
}

TEST_F(store_test, ordered_bucket_moves_on_when_its_head_was_settled_outside_the_queue) {
  auto now = storage::now_ms();
  auto a = msg(7401, "sds", now - 2000), b = msg(7402, "sds", now - 1000);
  save_ordered({&a, &b});
  auto q = keys.queue("sds", "dgfa");
  set_status(7401, "dgfa", "done");  // however it got settled, it must not hold the bucket
  auto [ec, batch] = run(store.claim("sds", "dgfa", storage::now_ms(), 10000, 10));
  ASSERT_FALSE(ec);
  EXPECT_TRUE(batch.items.empty());
  EXPECT_EQ(queue_ids(redis, q), (std::vector<std::string>{"7402"}));
}

TEST_F(store_test, ordered_bucket_moves_on_to_a_newcomer_when_its_started_head_expires) {
  auto now = storage::now_ms();
  auto head = msg(7501, "sds", now - 1000), newcomer = msg(7502, "sds", now - 5000);
  save_ordered({&head});
  auto [ec, batch] = run(store.claim("sds", "dgfa", storage::now_ms(), 1000, 10));
  ASSERT_EQ(batch.items.size(), 1u);
  save_ordered({&newcomer});  // earlier, but the head started: it waits outside the queue
  auto q = keys.queue("sds", "dgfa");
  ASSERT_EQ(queue_ids(redis, q), (std::vector<std::string>{"7501"}));
  // The dispatcher died; by the time the lease ran out, the head's data had expired.
  rewrite(7501, [](storage::record& r) { r.data_expire_at_ms = storage::now_ms() - 1; });
  auto [ec2, batch2] = run(store.claim("sds", "dgfa", batch.lease_until + 1, 1000, 10));
  ASSERT_FALSE(ec2);
  EXPECT_TRUE(batch2.items.empty());
  EXPECT_EQ(status_of(7501, "dgfa"), "failure");
  EXPECT_EQ(queue_ids(redis, q), (std::vector<std::string>{"7502"}));
}

TEST_F(store_test, ordered_bucket_lets_an_earlier_message_go_first_unless_the_head_started) {
  auto now = storage::now_ms();
  auto late = msg(7101, "sds", now + 60000), early = msg(7102, "sds", now + 30000);
  std::vector<storage::to_save> v1{{&late, consumers, true}};
  run(store.save(v1));
  std::vector<storage::to_save> v2{{&early, consumers, true}};
  run(store.save(v2));
  auto q = keys.queue("sds", "dgfa");
  EXPECT_EQ(queue_ids(redis, q), (std::vector<std::string>{"7102"}));

  // Once the head's delivery has started, a newcomer waits behind it.
  auto head = msg(7201, "sds", now - 1000), newcomer = msg(7202, "sds", now - 5000);
  head.bucket = newcomer.bucket = "other";
  std::vector<storage::to_save> v3{{&head, consumers, true}};
  run(store.save(v3));
  auto [ec, batch] = run(store.claim("sds", "dgfa", storage::now_ms(), 10000, 10));
  ASSERT_EQ(batch.items.size(), 1u);
  EXPECT_EQ(batch.items[0].id, 7201u);
  std::vector<storage::to_save> v4{{&newcomer, consumers, true}};
  run(store.save(v4));
  EXPECT_EQ(redis.cmd({"ZSCORE", q, "7202"}).type, redis::reply::kind::nil);
  run(store.ack("sds", "dgfa", 7201, batch.lease_until, storage::outcome::done, 0, 0,
                &head.bucket));
  EXPECT_EQ(redis.cmd({"ZSCORE", q, "7202"}).as_int(), newcomer.due_ms);
}

TEST_F(store_test, claim_leases_and_a_lost_lease_ignores_the_late_ack) {
  auto m = msg(8001, "sds", storage::now_ms() - 10);
  save({m});
  auto now = storage::now_ms();
  auto [ec, b1] = run(store.claim("sds", "dgfa", now, 50, 10));
  ASSERT_EQ(b1.items.size(), 1u);
  EXPECT_EQ(b1.items[0].attempt, 1);
  EXPECT_EQ(status_of(8001, "dgfa"), "doing");
  // Not claimable again while leased...
  auto [ec2, none] = run(store.claim("sds", "dgfa", now + 10, 50, 10));
  EXPECT_TRUE(none.items.empty());
  // ...but after the lease ran out another claim gets it, and the first ack is refused.
  auto [ec3, b2] = run(store.claim("sds", "dgfa", now + 100, 50, 10));
  ASSERT_EQ(b2.items.size(), 1u);
  EXPECT_EQ(b2.items[0].attempt, 2);
  auto [ec4, first] =
      run(store.ack("sds", "dgfa", 8001, b1.lease_until, storage::outcome::done, 0, 0));
  EXPECT_FALSE(first);
  auto [ec5, second] =
      run(store.ack("sds", "dgfa", 8001, b2.lease_until, storage::outcome::done, 0, 0));
  EXPECT_TRUE(second);
  EXPECT_EQ(status_of(8001, "dgfa"), "done");
  EXPECT_EQ(redis.cmd({"ZSCORE", keys.queue("sds", "dgfa"), "8001"}).type, redis::reply::kind::nil);
}

TEST_F(store_test, cancel_only_before_any_delivery_started) {
  auto m = msg(9001, "sds", storage::now_ms() - 10);
  save({m});
  auto [ec, r] = run(store.cancel("sds", 9001));
  EXPECT_EQ(r, 1);
  EXPECT_EQ(status_of(9001, "fghyds"), "cancelled");
  EXPECT_EQ(redis.cmd({"ZCARD", keys.queue("sds", "dgfa")}).integer, 0);
  EXPECT_EQ(run(store.cancel("sds", 9001)).second, -1);
  EXPECT_EQ(run(store.cancel("sds", 424242)).second, 0);
  auto started = msg(9002, "sds", storage::now_ms() - 10);
  save({started});
  run(store.claim("sds", "dgfa", storage::now_ms(), 10000, 10));
  EXPECT_EQ(run(store.cancel("sds", 9002)).second, -1);
}

TEST_F(store_test, a_shared_rate_limits_claims_of_all_dispatchers_per_second) {
  // The claims below pass their own clock: 100 ms into a whole second, with every message
  // due before it whatever the wall clock's millisecond is.
  auto now = (storage::now_ms() / 1000) * 1000 + 100;
  std::vector<model::message> ms;
  for (int i = 0; i < 10; ++i) ms.push_back(msg(9500 + i, "sds", now - 100));
  save(ms);
  // Two dispatchers claiming in the same second share a rate of 4.
  auto [e1, a] = run(store.claim("sds", "dgfa", now, 10000, 10, 4));
  auto [e2, b] = run(store.claim("sds", "dgfa", now + 1, 10000, 10, 4));
  EXPECT_EQ(a.items.size() + b.items.size(), 4u);
  EXPECT_EQ(b.next_due_ms, now - 100 + 1000);  // used up: come back next second
  auto [e3, c] = run(store.claim("sds", "dgfa", now + 1000, 10000, 10, 4));
  EXPECT_EQ(c.items.size(), 4u);
}
