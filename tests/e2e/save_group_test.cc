// save_group_test: the group commit (storage/save_batcher.h) under concurrent batch POSTs.
// Concurrent requests are saved in flushes of whole requests, a few hundred messages each,
// two at a time; every request must still get its own ids, in its own order, for its own
// messages, whatever flush they went in - also a request larger than a flush.
#include <thread>

#include "fixture.h"

namespace dmq::e2e {
namespace {

using save_group_test = dmq_test;

TEST_F(save_group_test, concurrent_batches_across_flushes_each_get_their_own_messages) {
  // 8 connections × 3 batches of 100, and one of 1000 (more than a flush) at the same time.
  constexpr int threads = 9, batches = 3;
  std::vector<std::vector<std::pair<std::string, std::uint64_t>>> got(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      test::http_client c(port);
      int per_batch = t == threads - 1 ? 1000 : 100;
      for (int b = 0; b < batches; ++b) {
        json::array a;
        std::vector<std::string> buckets;
        for (int i = 0; i < per_batch; ++i) {
          buckets.push_back("t" + std::to_string(t) + "-" + std::to_string(b) + "-" +
                            std::to_string(i));
          a.push_back(order(buckets.back()));
        }
        test::http_reply r;
        try {
          r = c.request("POST", "/api/message/batch", text(a));
        } catch (const std::exception& e) {
          got[t].push_back({std::string("no answer: ") + e.what(), 0});
          return;
        }
        auto data = r.data();
        if (r.code() != 0 || !data.is_array() || data.as_array().size() != buckets.size()) {
          got[t].push_back({"bad answer: " + r.body, 0});
          return;
        }
        for (std::size_t i = 0; i < buckets.size(); ++i) {
          const auto& v = data.as_array()[i];
          got[t].push_back(
              {buckets[i], v.is_int64() ? static_cast<std::uint64_t>(v.get_int64()) : 0});
        }
      }
    });
  for (auto& th : pool) th.join();

  std::set<std::uint64_t> all;
  for (int t = 0; t < threads; ++t) {
    ASSERT_EQ(got[t].size(), static_cast<std::size_t>(batches * (t == threads - 1 ? 1000 : 100)))
        << (got[t].empty() ? "" : got[t].back().first);
    for (const auto& [bucket, id] : got[t]) {
      ASSERT_NE(id, 0u) << bucket;
      // The id answered for this item holds this item's message.
      ASSERT_EQ(hget(msg_key(id), "bucket"), bucket) << id;
      all.insert(id);
    }
  }
  EXPECT_EQ(all.size(), static_cast<std::size_t>((threads - 1) * batches * 100 + batches * 1000));
  EXPECT_EQ(message_keys().size(), all.size());
}

}  // namespace
}  // namespace dmq::e2e
