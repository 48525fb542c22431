// save_truth_test: every answer of /single tells the truth while Redis stalls past the
// request timeout: an id means delivered, "not saved" (106, false) means never delivered
// (issue 12, 1.3). Redis is frozen (SIGSTOP) with saves in its socket buffer, so they run
// when it wakes, after dmq has already answered them.
#include <csignal>
#include <mutex>
#include <thread>

#include "delivery_fixture.h"

namespace dmq::e2e {
namespace {

struct save_truth_test : delivery_test {};

TEST_F(save_truth_test, no_message_answered_not_saved_is_delivered_and_every_id_is) {
  constexpr int producers = 4, per_producer = 120;
  std::mutex mu;
  std::set<std::uint64_t> answered;  // ids answered with code 0
  int refused = 0;                   // answered 106, data false
  std::atomic<int> answers{0}, refusals{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i) {
        auto r = test::call(port, "POST", "/api/message/single",
                            text(message("{\"p\":" + std::to_string(p) + "}")));
        std::lock_guard lock(mu);
        if (r.code() == 0) {
          answered.insert(id_of(r));
        } else {
          EXPECT_EQ(r.code(), 106) << r.body;
          EXPECT_NE(r.body.find("\"data\":false"), std::string::npos) << r.body;
          ++refused;
          ++refusals;
        }
        ++answers;
      }
    });
  // Freeze Redis mid-load, and wake it once some saves were refused (each waited for the
  // request timeout, 1 s, and the confirm bound).
  ASSERT_TRUE(test::wait_until([&] { return answers >= 60; }, 20s));
  redis.pause();
  bool refused_some = test::wait_until([&] { return refusals >= 4; }, 20s);
  redis.resume();
  for (auto& t : threads) t.join();
  ASSERT_TRUE(refused_some) << "no save was refused while Redis was frozen";
  std::cout << "[ truth ] " << answered.size() << " saved, " << refused << " not saved\n";

  // Every id answered is delivered; once the queues are empty, nothing else was.
  EXPECT_TRUE(endpoint.wait_for_distinct("/dgfa/", answered.size(), 30s));
  EXPECT_TRUE(test::wait_until(
      [&] {
        return redis.cmd({"ZCARD", "dmq:{sds}:q:dgfa"}).integer == 0;
      },
      30s));
  auto got = endpoint.ids_received("/dgfa/");
  std::size_t strangers = 0;
  for (auto id : got) strangers += answered.count(id) == 0;
  if (strangers > 0) {  // what dmq said about its saves, for the failure message
    std::string lines, log = dmq->log();
    for (std::size_t at = 0, nl; at < log.size(); at = nl + 1) {
      nl = log.find('\n', at);
      if (nl == std::string::npos) nl = log.size();
      auto line = log.substr(at, nl - at);
      if (line.find("save") != std::string::npos || line.find("redis") != std::string::npos)
        lines += line + "\n";
    }
    ADD_FAILURE() << strangers << " messages answered not saved were delivered; dmq said:\n"
                  << lines;
  }
  for (auto id : answered) EXPECT_EQ(got.count(id), 1u) << id;
  auto metrics = test::call(port, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("dmq_saves_unknown_total{result=\"revoked\"}"), std::string::npos);
}

}  // namespace
}  // namespace dmq::e2e
