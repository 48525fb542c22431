// emfile_test: a dispatcher out of file descriptors (RLIMIT_NOFILE lowered under it with
// prlimit) defers the deliveries it cannot connect for, instead of burning their attempts:
// with retry_times 0, each would otherwise fail for good (issue 12, section 2).
#include <dirent.h>
#include <sys/resource.h>

#include "delivery_fixture.h"

namespace dmq::e2e {
namespace {

int open_fds(pid_t pid) {
  int n = 0;
  if (auto* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    while (auto* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
  }
  return n;
}

struct emfile_test : delivery_test {
  void configure() override {
    dgfa.retry_times = 0;
    dgfa.more = {{"concurrency", "16"}};
    fghyds.retry_times = 0;
  }
};

TEST_F(emfile_test, deliveries_without_a_descriptor_are_deferred_not_failed) {
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 12; ++i)
    ids.push_back(post(message("{\"n\":" + std::to_string(i) + "}", 1500)));
  // A few descriptors to spare: far fewer than the deliveries about to start at once.
  rlimit was{};
  ASSERT_EQ(::prlimit(dmq->pid(), RLIMIT_NOFILE, nullptr, &was), 0);
  rlimit low = was;
  low.rlim_cur = static_cast<rlim_t>(open_fds(dmq->pid()) + 4);
  ASSERT_EQ(::prlimit(dmq->pid(), RLIMIT_NOFILE, &low, nullptr), 0);

  // Statuses straight from Redis: the API has no descriptor to accept the test's call.
  for (auto id : ids)
    for (const char* c : {"dgfa", "fghyds"})
      EXPECT_TRUE(test::wait_until([&] { return redis_status(id, c) == "done"; }, 20s))
          << id << " " << c << ": " << redis_status(id, c);
  // Raise it again so that /metrics can be asked for.
  ASSERT_EQ(::prlimit(dmq->pid(), RLIMIT_NOFILE, &was, nullptr), 0);
  auto metrics = test::call(port, "GET", "/metrics").body;
  auto at = metrics.find("dmq_deliveries_deferred_total{consumer=\"dgfa\"} ");
  ASSERT_NE(at, std::string::npos) << metrics.substr(0, 1000);
  auto deferred = std::stoll(metrics.substr(at + 46));
  EXPECT_GT(
      deferred + std::stoll(metrics.substr(
                     metrics.find("dmq_deliveries_deferred_total{consumer=\"fghyds\"} ") + 48)),
      0)
      << "no delivery ran out of descriptors: the test proved nothing";
}

}  // namespace
}  // namespace dmq::e2e
