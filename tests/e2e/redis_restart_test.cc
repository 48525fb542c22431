// redis_restart_test: Redis killed (SIGKILL) and restarted from its append-only file
// (appendfsync always) in the middle of a drain and in the middle of ingest: every message
// answered with an id is delivered, none answered "not saved" is, and duplicates stay
// within what was in flight (issue 12, section 3).
#include <mutex>
#include <thread>

#include "delivery_fixture.h"

namespace dmq::e2e {
namespace {

constexpr std::size_t in_flight_bound = 64;  // the default concurrency

std::size_t missing(const std::set<std::uint64_t>& ids, const std::multiset<std::uint64_t>& got) {
  std::size_t n = 0;
  for (auto id : ids) n += got.count(id) == 0;
  return n;
}

std::size_t duplicates(const std::multiset<std::uint64_t>& got) {
  return got.size() - std::set<std::uint64_t>(got.begin(), got.end()).size();
}

struct redis_restart_test : delivery_test {
  redis_restart_test() : persistent(true) {}
  void configure() override { start_run = false; }
  // A second Redis, with an append-only file: the fixture's own is not persistent.
  test::redis_server persistent;
};

TEST_F(redis_restart_test, killed_mid_drain_nothing_is_lost) {
  int p = test::free_port();
  dirs.push_back(
      write_delivery_config(persistent.port(), p, endpoint.port(), {dgfa, fghyds}, extra));
  test::dmq_process run(dirs.back(), p, "run");
  auto posted = post_many(3000, p);
  ASSERT_EQ(posted.size(), 3000u);
  std::set<std::uint64_t> ids(posted.begin(), posted.end());
  ASSERT_TRUE(endpoint.wait_for_count(500, 20s));
  persistent.stop();   // SIGKILL, mid-drain
  persistent.start();  // from its AOF
  bool all = endpoint.wait_for_distinct("/dgfa/", ids.size(), 60s) &&
             endpoint.wait_for_distinct("/fghyds/", ids.size(), 60s);
  EXPECT_TRUE(all) << run.log().substr(0, 3000);
  for (const char* path : {"/dgfa/", "/fghyds/"}) {
    auto got = endpoint.ids_received(path);
    EXPECT_EQ(missing(ids, got), 0u) << path;
    EXPECT_LE(duplicates(got), in_flight_bound) << path;
    std::cout << "[ restart ] " << path << " " << got.size() << " received for " << ids.size()
              << ", " << duplicates(got) << " duplicates\n";
  }
}

TEST_F(redis_restart_test, killed_mid_ingest_every_answer_is_the_truth) {
  int p = test::free_port();
  dirs.push_back(write_delivery_config(persistent.port(), p, endpoint.port(), {dgfa}, extra));
  test::dmq_process run(dirs.back(), p, "run");
  std::mutex mu;
  std::set<std::uint64_t> saved;
  std::atomic<int> answers{0}, refused{0};
  std::vector<std::thread> producers;
  for (int t = 0; t < 3; ++t)
    producers.emplace_back([&] {
      for (int i = 0; i < 30; ++i) {
        json::array batch;
        for (int k = 0; k < 20; ++k) batch.push_back(message("{\"k\":" + std::to_string(k) + "}"));
        auto r = test::call(p, "POST", "/api/message/batch", text(batch));
        std::lock_guard lock(mu);
        auto data = r.code() == 0 ? r.data() : json::value(json::array{});
        if (data.is_array())
          for (const auto& v : data.as_array()) {
            if (v.is_int64())
              saved.insert(static_cast<std::uint64_t>(v.get_int64()));
            else
              ++refused;
          }
        ++answers;
      }
    });
  ASSERT_TRUE(test::wait_until([&] { return answers >= 15; }, 20s));
  persistent.stop();
  ASSERT_TRUE(test::wait_until([&] { return refused > 0; }, 20s)) << "no save was refused";
  persistent.start();
  for (auto& t : producers) t.join();
  std::cout << "[ restart ] " << saved.size() << " saved, " << refused << " not saved\n";
  EXPECT_TRUE(endpoint.wait_for_distinct("/dgfa/", saved.size(), 60s));
  EXPECT_TRUE(test::wait_until(
      [&] {
        return persistent.cmd({"ZCARD", "dmq:{sds}:q:dgfa"}).integer == 0;
      },
      30s));
  auto got = endpoint.ids_received("/dgfa/");
  EXPECT_EQ(missing(saved, got), 0u) << "answered saved, never delivered";
  std::size_t strangers = 0;
  for (auto id : got) strangers += saved.count(id) == 0;
  EXPECT_EQ(strangers, 0u) << "answered not saved, yet delivered";
}

}  // namespace
}  // namespace dmq::e2e
