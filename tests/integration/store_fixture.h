// store_fixture: a store over a real redis-server on a free port, and helpers to look at
// what it stored (shared by the integration tests).
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <future>

#include "storage/id_source.h"
#include "storage/store.h"
#include "support/ports.h"
#include "support/redis_server.h"

namespace dmq::test {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct store_test : ::testing::Test {
  test::redis_server redis;
  asio::io_context ioc;
  storage::keys keys{"t" + std::to_string(::testing::UnitTest::GetInstance()->random_seed())};
  storage::script_set scripts;
  redis::connection conn{ioc.get_executor(), options(redis.port())};
  storage::store store{conn, keys, scripts, std::chrono::hours(24 * 4)};
  std::vector<std::string> consumers{"dgfa", "fghyds"};

  static redis::options options(int port) {
    redis::options o;
    o.port = port;
    o.request_timeout_ms = 300;
    o.min_backoff_ms = 5;
    o.max_backoff_ms = 50;
    return o;
  }

  store_test() {
    conn.set_on_connect([this](redis::connection& c) { return store.on_connect(c); });
    conn.start();
    EXPECT_TRUE(run(conn.wait_ready(5s)));
  }
  ~store_test() override { conn.stop(); }

  // run_until drives the io_context until done() holds; fails the test after bound.
  template <class F>
  void run_until(F done, std::chrono::milliseconds bound = 5s) {
    auto until = std::chrono::steady_clock::now() + bound;
    while (!done()) {
      if (std::chrono::steady_clock::now() > until) FAIL() << "run_until: timed out";
      ioc.run_for(5ms);
    }
  }

  // run drives the io_context until the awaitable completes (bounded) and returns its value.
  template <class T>
  T run(asio::awaitable<T> a, std::chrono::milliseconds bound = 10s) {
    auto f = asio::co_spawn(ioc, std::move(a), asio::use_future);
    auto until = std::chrono::steady_clock::now() + bound;
    while (f.wait_for(0s) != std::future_status::ready) {
      if (std::chrono::steady_clock::now() > until) throw std::runtime_error("run: timed out");
      ioc.run_for(5ms);
    }
    return f.get();
  }

  model::message msg(std::uint64_t id, std::string project = "sds", std::int64_t due = 0) {
    model::message m;
    m.id = id;
    m.project = std::move(project);
    m.cmd = m.project + ":create:order";
    m.params = R"({"order_id":1})";
    m.bucket = "order:{1}* x";
    m.request_id = "rid-1";
    m.create_ms = storage::now_ms();
    m.due_ms = due ? due : m.create_ms + 60000;
    return m;
  }

  // rec reads the record of message id (data and statuses, storage/record.h).
  std::optional<storage::record> rec(std::uint64_t id) {
    auto r = redis.cmd({"GET", keys.message("sds", id)});
    if (r.is_nil()) return std::nullopt;
    return storage::decode_record(r.str);
  }
  std::string status_of(std::uint64_t id, const std::string& consumer) {
    auto r = rec(id);
    const auto* c = r ? r->status(consumer) : nullptr;
    return c ? c->status : "<none>";
  }
  // rewrite changes the record of id as dmq would (keeping its expiry).
  template <class F>
  void rewrite(std::uint64_t id, F change) {
    auto r = rec(id);
    ASSERT_TRUE(r);
    change(*r);
    redis.cmd({"SET", keys.message("sds", id), storage::encode(*r), "KEEPTTL"});
  }
  void set_status(std::uint64_t id, const std::string& consumer, const std::string& status) {
    rewrite(id, [&](storage::record& r) {
      for (auto& c : r.consumers)
        if (c.name == consumer) c.status = status;
    });
  }

  // save_ordered saves msgs, in order, as messages of an ordered command.
  void save_ordered(std::initializer_list<const model::message*> msgs) {
    std::vector<storage::to_save> v;
    for (const auto* m : msgs) v.push_back({m, consumers, true});
    for (auto& e : run(store.save(v))) ASSERT_FALSE(e) << e.message();
  }
  std::vector<std::error_code> save(const std::vector<model::message>& ms) {
    std::vector<storage::to_save> v;
    for (const auto& m : ms) v.push_back({&m, consumers});
    return run(store.save(v));
  }
};

inline std::vector<std::string> queue_ids(test::redis_server& r, const std::string& key) {
  std::vector<std::string> out;
  for (auto& e : r.cmd({"ZRANGE", key, "0", "-1"}).elements) out.push_back(e.str);
  return out;
}

}  // namespace dmq::test
