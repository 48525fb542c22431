// emfile_test: a dispatcher out of file descriptors (RLIMIT_NOFILE lowered under it with
// prlimit) defers the deliveries it cannot connect for, instead of burning their attempts:
// with retry_times 0, each would otherwise fail for good (issue 12, section 2).
#include <dirent.h>
#include <sys/resource.h>

#include <thread>

#include "delivery_fixture.h"

namespace dmq::e2e {
namespace {

// lowest_free_fd returns the lowest descriptor number pid has free: with RLIMIT_NOFILE
// set to it, the process can open nothing (a limit bounds numbers, not counts).
int lowest_free_fd(pid_t pid) {
  std::set<int> used;
  if (auto* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    while (auto* e = ::readdir(d))
      if (e->d_name[0] != '.') used.insert(std::atoi(e->d_name));
    ::closedir(d);
  }
  int n = 0;
  while (used.count(n)) ++n;
  return n;
}

struct emfile_test : delivery_test {
  void configure() override {
    dgfa.retry_times = 0;
    dgfa.more = {{"concurrency", "16"}};
    fghyds.retry_times = 0;
  }
};

TEST_F(emfile_test, without_descriptors_nothing_is_burned_and_everything_waits) {
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 12; ++i)
    ids.push_back(post(message("{\"n\":" + std::to_string(i) + "}", 1500)));
  // No descriptor to spare: no connection to a consumer, no accepted producer.
  rlimit was{};
  ASSERT_EQ(::prlimit(dmq->pid(), RLIMIT_NOFILE, nullptr, &was), 0);
  rlimit low = was;
  low.rlim_cur = static_cast<rlim_t>(lowest_free_fd(dmq->pid()));
  ASSERT_EQ(::prlimit(dmq->pid(), RLIMIT_NOFILE, &low, nullptr), 0);
  // A producer calling meanwhile is not accepted, nor dropped: dmq retries the accept.
  test::http_reply late;
  std::thread producer([&] { late = test::call(port, "GET", "/healthz"); });
  bool both = test::wait_until(
      [&] {
        // Descriptors dmq frees (a closed connection) are taken away again at once.
        low.rlim_cur = static_cast<rlim_t>(lowest_free_fd(dmq->pid()));
        ::prlimit(dmq->pid(), RLIMIT_NOFILE, &low, nullptr);
        auto log = dmq->log();
        return log.find("accept failed") != std::string::npos &&
               log.find("not sent (") != std::string::npos;
      },
      10s);
  ASSERT_EQ(::prlimit(dmq->pid(), RLIMIT_NOFILE, &was, nullptr), 0);
  producer.join();
  ASSERT_TRUE(both) << "no accept or delivery ran out of descriptors: the test proved nothing\n"
                    << dmq->log().substr(0, 3000);
  EXPECT_EQ(late.status, 200) << "the producer waited, and was answered";
  // With retry_times 0 a burned attempt would be a failure: every delivery is done.
  for (auto id : ids)
    for (const char* c : {"dgfa", "fghyds"})
      EXPECT_TRUE(test::wait_until([&] { return redis_status(id, c) == "done"; }, 20s))
          << id << " " << c << ": " << redis_status(id, c);
  auto metrics = test::call(port, "GET", "/metrics").body;
  auto counter = [&](const std::string& series) {
    auto at = metrics.find("\n" + series + " ");
    return at == std::string::npos ? -1 : std::stoll(metrics.substr(at + series.size() + 2));
  };
  EXPECT_GT(counter("dmq_deliveries_deferred_total{consumer=\"dgfa\"}") +
                counter("dmq_deliveries_deferred_total{consumer=\"fghyds\"}"),
            0);
  EXPECT_GT(counter("dmq_http_accept_errors_total"), 0);
}

}  // namespace
}  // namespace dmq::e2e
