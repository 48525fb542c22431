// backends_test: the core of dmq - ingest, the read and admin endpoints, delivery, retries,
// the pending list, ordering, a dispatcher killed with -9 - run from one test body against
// a single redis-server and against a real Redis Cluster (3 masters, 3 replicas, started
// by the test: support/redis_cluster.h), as nats-server runs one test against every store.
// And what only a cluster does: a master killed mid-drain (its replica takes over) and a
// slot migrated during traffic (the ASK path). The core runs again with the project spread
// over 3 shards (product_list[].shards: its keys under {sds}, {sds~1...} and {sds~2...}).
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "delivery_fixture.h"
#include "storage/keys.h"
#include "support/redis_cluster.h"

namespace dmq::e2e {
namespace {

enum class backend { single, cluster, single_shards, cluster_shards };

std::string name_of(backend b) {
  switch (b) {
    case backend::single:
      return "single";
    case backend::cluster:
      return "cluster";
    case backend::single_shards:
      return "single_shards";
    case backend::cluster_shards:
      return "cluster_shards";
  }
  return "?";
}

struct backends_test : delivery_test, ::testing::WithParamInterface<backend> {
  // One cluster for the test's process (ctest runs each test in its own).
  static test::redis_cluster& cluster() {
    static test::redis_cluster c;
    return c;
  }
  // The cluster is shared by the tests of a process (one, under ctest; several when the
  // binary runs a filter): each starts on an empty one, as on its own redis-server.
  void SetUp() override {
    if (auto* c = dynamic_cast<test::redis_cluster*>(&target())) c->on_every_master({"FLUSHALL"});
    delivery_test::SetUp();
  }
  bool on_cluster() const {
    return GetParam() == backend::cluster || GetParam() == backend::cluster_shards;
  }
  int shards() const {
    return GetParam() == backend::single_shards || GetParam() == backend::cluster_shards ? 3 : 1;
  }
  // tags are the project's shards' hash tags (storage/keys.h).
  std::vector<std::string> tags() const {
    return storage::keys("dmq", false, {{"sds", shards()}}).tags("sds");
  }
  // queued returns the size of a consumer's queue over every shard.
  long long queued(const std::string& consumer) {
    long long n = 0;
    for (const auto& t : tags())
      n += target().cmd({"ZCARD", "dmq:{" + t + "}:q:" + consumer}).integer;
    return n;
  }
  // records returns the keys of the project's message records, in every shard.
  std::set<std::string> records() {
    std::set<std::string> out;
    for (const auto& t : tags())
      for (const auto& k : target().scan_keys("dmq:{" + t + "}:m:*")) out.insert(k);
    return out;
  }
  virtual test::redis_target& target() {
    if (on_cluster()) return cluster();
    return redis;
  }

  void configure() override {
    dgfa.retry_times = 1;
    dgfa.interval = 100;
    fghyds.retry_times = 0;
    extra = "dispatch:\n  max_idle_ms: 600000\n";  // wake-ups only: no polling
  }

  // config_dir points dmq at the target instead of the fixture's own redis-server.
  std::string config_dir(int http_port) override {
    auto d = delivery_test::config_dir(http_port);
    auto path = d + "/config.yaml";
    std::ifstream in(path);
    std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto single = "  host: 127.0.0.1\n  port: " + std::to_string(redis.port()) + "\n";
    auto at = yaml.find(single);
    EXPECT_NE(at, std::string::npos) << yaml;
    if (at != std::string::npos)
      yaml.replace(at, single.size(), target().config_yaml() + redis_more);
    if (ordered) {
      auto cmd_file = d + "/commands/cmd-sds-create-order.yaml";
      std::ifstream c(cmd_file);
      std::string text((std::istreambuf_iterator<char>(c)), std::istreambuf_iterator<char>());
      std::ofstream(cmd_file) << "ordered: true\n" << text;
    }
    std::ofstream(path) << yaml << more_yaml;
    if (shards() > 1) set_shards(d, "sds", shards());
    return d;
  }

  test::http_reply admin(const std::string& path, const json::object& body) const {
    return test::call(port, "POST", path, text(body));
  }
  json::value get(const std::string& target) const {
    auto r = test::call(port, "GET", target);
    EXPECT_EQ(r.code(), 0) << target << ": " << r.body;
    return r.data();
  }

  bool ordered = false;
  std::string more_yaml;   // top-level keys added to config.yaml
  std::string redis_more;  // lines added to its redis: section
};

TEST_P(backends_test, ingest_reads_and_delivery) {
  auto m = message(R"({"order_id":1})");
  m["request_id"] = "rid-backends-1";
  auto id = post(m);
  auto batch = post_many(30);
  ASSERT_EQ(batch.size(), 30u);
  // Every message reaches both consumers once and is done.
  ASSERT_TRUE(endpoint.wait_for_distinct("/dgfa/", 31, 10s)) << describe(endpoint.requests());
  ASSERT_TRUE(endpoint.wait_for_distinct("/fghyds/", 31, 10s));
  EXPECT_TRUE(wait_status(id, "dgfa", "done"));
  EXPECT_TRUE(wait_status(batch.back(), "fghyds", "done"));
  EXPECT_EQ(endpoint.count(), 62u) << "each delivery made once";

  auto detail = get("/api/message/detail?consumer=dgfa&msg_id=" + std::to_string(id));
  EXPECT_EQ(detail.at("params"), json::value(R"({"order_id":1})")) << detail;
  auto found = get("/api/message/find?project=sds&request_id=rid-backends-1");
  EXPECT_EQ(found.at("ids"), (json::array{json::value(std::to_string(id))})) << found;
  auto stats = get("/api/stats");
  EXPECT_TRUE(stats.is_object()) << stats;
  // The data lives where the key layout says, on whichever master holds the project: with
  // shards, every shard got some of the 31 (id mod 3), and its own queue.
  EXPECT_EQ(queued("dgfa"), 0);
  auto home = tags()[id % tags().size()];
  EXPECT_FALSE(target().cmd({"GET", "dmq:{" + home + "}:m:" + std::to_string(id)}).is_nil());
  for (const auto& t : tags())
    EXPECT_FALSE(target().scan_keys("dmq:{" + t + "}:m:*").empty()) << "no message in " << t;
  EXPECT_EQ(records().size(), 31u);
}

TEST_P(backends_test, cancel_and_reschedule_before_the_due_time) {
  auto cancel_me = post(message("c", 60000));
  auto r = admin("/api/message/cancel", {{"msg_id", cancel_me}});
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(status(cancel_me, "dgfa"), "cancelled");
  auto move_me = post(message("r", 60000));
  r = admin("/api/message/reschedule",
            {{"project", "sds"}, {"msg_id", move_me}, {"delay_ms", 100}});
  ASSERT_EQ(r.code(), 0) << r.body;
  ASSERT_TRUE(endpoint.wait_for_distinct("/dgfa/", 1, 5s)) << describe(endpoint.requests());
  EXPECT_EQ(endpoint.for_id(move_me, "/dgfa/").size(), 1u);
  EXPECT_TRUE(endpoint.for_id(cancel_me).empty());
}

TEST_P(backends_test, retries_then_pending_then_retry_and_solved) {
  endpoint.when_path("/dgfa/", answer::with_status(500));
  auto a = post(message("a"));
  auto b = post(message("b"));
  ASSERT_TRUE(wait_status(a, "dgfa", "failure", 10s)) << status(a, "dgfa");
  ASSERT_TRUE(wait_status(b, "dgfa", "failure", 10s));
  EXPECT_EQ(endpoint.for_id(a, "/dgfa/").size(), 2u) << "the first try and one retry";
  ASSERT_TRUE(in_pending(a, "dgfa"));
  endpoint.clear_rules();
  auto r = admin("/api/message/retry", {{"consumer", "dgfa"}, {"msg_ids", json::array{a}}});
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_TRUE(wait_status(a, "dgfa", "done"));
  r = admin("/api/message/solved", {{"consumer", "dgfa"}, {"msg_ids", json::array{b}}});
  ASSERT_EQ(r.code(), 0) << r.body;
  EXPECT_EQ(status(b, "dgfa"), "done");
  EXPECT_FALSE(in_pending(b, "dgfa"));
}

// Lists, counts, idempotency keys and pauses see a project whole, whatever its shards.
TEST_P(backends_test, lists_counts_keys_and_pause_see_every_shard) {
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto m = message("{}", 60000 + 10 * i);
    m["idempotency_key"] = "key-" + std::to_string(i);
    ids.push_back(std::to_string(post(m)));
  }
  for (int i = 0; i < 3; ++i) {  // a repeat finds the first, in whichever shard it is
    auto m = message("{}", 60000);
    m["idempotency_key"] = "key-" + std::to_string(i);
    EXPECT_EQ(std::to_string(post(m)), ids[static_cast<std::size_t>(i)]);
  }
  EXPECT_EQ(records().size(), 20u);
  // A message's detail reads its queue time in its own shard (a keyed message: its key's).
  for (const auto& id : {ids[0], ids[7], ids[13]}) {
    auto d = get("/api/message/detail?consumer=dgfa&msg_id=" + id);
    EXPECT_FALSE(d.at("consumers").as_array().at(0).at("next_attempt_ms").is_null()) << d;
  }
  // Pages of 6 from one cursor over every shard: each id once, in due order.
  std::vector<std::string> listed;
  std::string cursor;
  for (int n = 0; n < 20; ++n) {  // bounded
    auto page = get("/api/message/scheduled?consumer=dgfa&limit=6" +
                    (cursor.empty() ? "" : "&cursor=" + cursor));
    for (const auto& e : page.at("list").as_array())
      listed.emplace_back(e.at("msg_id").as_string());
    EXPECT_EQ(page.at("count"), 20) << page;
    cursor = std::string(page.at("next_cursor").as_string());
    if (cursor.empty()) break;
  }
  EXPECT_EQ(listed, ids);
  auto stats = get("/api/stats?project=sds");
  auto consumers = stats.at("projects").as_array().at(0).at("consumers").as_array();
  EXPECT_EQ(consumers.at(0).at("waiting"), 20) << stats;

  // Paused, no shard's claim takes the message made due now; resumed, it is delivered.
  ASSERT_EQ(admin("/api/consumer/pause", {{"consumer", "dgfa"}}).code(), 0);
  for (const auto& t : tags())
    EXPECT_EQ(target().cmd({"HEXISTS", "dmq:{" + t + "}:paused", "dgfa"}).integer, 1) << t;
  auto r =
      admin("/api/message/reschedule", {{"project", "sds"}, {"msg_id", ids[5]}, {"delay_ms", 0}});
  ASSERT_EQ(r.code(), 0) << r.body;
  ASSERT_TRUE(endpoint.wait_for_distinct("/fghyds/", 1, 5s)) << "the other consumer is not paused";
  EXPECT_TRUE(endpoint.requests("/dgfa/").empty());
  ASSERT_EQ(admin("/api/consumer/resume", {{"consumer", "dgfa"}}).code(), 0);
  ASSERT_TRUE(endpoint.wait_for_distinct("/dgfa/", 1, 5s)) << describe(endpoint.requests());
  EXPECT_EQ(std::to_string(endpoint.requests("/dgfa/").at(0).msg_id), ids[5]);
}

struct backends_wait_test : backends_test {
  void configure() override {
    backends_test::configure();
    redis_more = "  wait_replicas: 1\n  wait_timeout_ms: 200\n";
  }
};

// A save is answered "saved" only once a replica has it: the cluster's masters have one,
// the single redis-server has none, so there it is refused and nothing of it is kept.
TEST_P(backends_wait_test, a_save_is_answered_only_when_a_replica_has_it) {
  auto r = test::call(port, "POST", "/api/message/single", text(message("w")));
  if (on_cluster()) {
    ASSERT_EQ(r.code(), 0) << r.body;
    auto id = id_of(r);
    EXPECT_TRUE(wait_status(id, "dgfa", "done"));
    return;
  }
  EXPECT_EQ(r.code(), 106) << r.body;
  EXPECT_NE(r.body.find("did not replicate"), std::string::npos) << r.body;
  // Revoked (settle-1.lua): every consumer's status is cancelled and no queue holds it, so
  // it is never delivered.
  auto records = this->records();
  ASSERT_EQ(records.size(), 1u);
  auto rec = storage::decode_record(target().cmd({"GET", *records.begin()}).str);
  ASSERT_TRUE(rec);
  for (const auto& c : rec->consumers) EXPECT_EQ(c.status, "cancelled") << c.name;
  EXPECT_EQ(queued("dgfa"), 0);
  auto metrics = test::call(port, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("dmq_saves_not_replicated_total 1"), std::string::npos) << metrics;
}

struct backends_ordered_test : backends_test {
  void configure() override {
    backends_test::configure();
    ordered = true;
  }
};

TEST_P(backends_ordered_test, a_bucket_is_delivered_in_order_one_at_a_time) {
  endpoint.set_default(answer::slow(20));
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 8; ++i) ids.push_back(post(message(std::to_string(i), 0, "bucket-1")));
  ASSERT_TRUE(endpoint.wait_for_distinct("/dgfa/", 8, 10s)) << describe(endpoint.requests());
  auto rs = endpoint.requests("/dgfa/");
  std::vector<std::uint64_t> order;
  for (const auto& x : rs) order.push_back(x.msg_id);
  EXPECT_EQ(order, ids) << describe(rs);
}

struct backends_kill_test : backends_test {
  void configure() override {
    backends_test::configure();
    dgfa.timeout = 3000;
    extra += "  lease_margin_ms: 500\n";
  }
};

TEST_P(backends_kill_test, a_dispatcher_killed_mid_delivery_leaves_nothing_undelivered) {
  endpoint.when_path("/dgfa/", answer::slow(10000));  // never answers in time
  auto ids = post_many(5);
  ASSERT_TRUE(endpoint.wait_for_distinct("/dgfa/", 5, 5s)) << describe(endpoint.requests());
  dmq->signal(SIGKILL);
  dmq->wait_exit();
  dmq.reset();
  endpoint.clear_rules();
  dmq = start_dmq(dir, port, "run");
  // In flight when it died: due again once the lease runs out, and delivered.
  for (auto id : ids) EXPECT_TRUE(wait_status(id, "dgfa", "done", 15s)) << status(id, "dgfa");
  for (auto id : ids) EXPECT_TRUE(wait_status(id, "fghyds", "done"));
}

// What only a cluster does, on a cluster of its own (a test changes it).
struct cluster_faults_test : backends_test {
  void configure() override {
    backends_test::configure();
    extra += "  lease_margin_ms: 1000\n";
  }
  test::redis_target& target() override { return own; }
  std::string config_dir(int http_port) override {
    auto d = backends_test::config_dir(http_port);
    // Acknowledged means on a replica too.
    std::ifstream in(d + "/config.yaml");
    std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto at = yaml.find("  cluster: ");
    EXPECT_NE(at, std::string::npos);
    if (at != std::string::npos) yaml.insert(at, "  wait_replicas: 1\n");
    std::ofstream(d + "/config.yaml") << yaml;
    return d;
  }

  // traffic posts batches of 20, one every 10 ms (a pace, not a wait for anything), until
  // stop is set or n were tried; keeps the ids answered saved (and counts the refusals: a
  // save refused while its master is down is an honest answer).
  void traffic(std::atomic<bool>& stop, int n, std::vector<std::uint64_t>& acked, int& refused) {
    for (int sent = 0; sent < n && !stop; sent += 20) {
      std::this_thread::sleep_for(10ms);
      json::array batch;
      for (int i = 0; i < 20; ++i)
        batch.push_back(message("{\"n\":" + std::to_string(sent + i) + "}"));
      auto r = test::call(port, "POST", "/api/message/batch", text(batch));
      if (r.code() != 0) {
        ++refused;
        continue;
      }
      auto data = r.data();
      for (const auto& v : data.as_array())
        if (v.is_int64()) acked.push_back(static_cast<std::uint64_t>(v.get_int64()));
      acked_count = acked.size();
    }
  }

  // all_delivered waits until every id in acked was delivered to both consumers.
  bool all_delivered(const std::vector<std::uint64_t>& acked, std::chrono::milliseconds bound) {
    std::set<std::uint64_t> want(acked.begin(), acked.end());
    return test::wait_until(
        [&] {
          for (const char* path : {"/dgfa/", "/fghyds/"}) {
            auto got = endpoint.ids_received(path);
            for (auto id : want)
              if (got.count(id) == 0) return false;
          }
          return true;
        },
        bound);
  }

  test::redis_cluster own;
  std::atomic<std::size_t> acked_count{0};  // acked.size(), for the test's thread
};

TEST_P(cluster_faults_test, a_master_killed_mid_drain_loses_no_acknowledged_message) {
  std::atomic<bool> stop{false};
  std::vector<std::uint64_t> acked;
  int refused = 0;
  std::thread load([&] { traffic(stop, 20000, acked, refused); });
  ASSERT_TRUE(endpoint.wait_for_count(100, 10s));
  int slot = test::redis_cluster::slot_of("dmq:{sds}:q:dgfa");
  int killed = own.kill_master_of(slot);
  ASSERT_TRUE(own.wait_failover(slot, 20s)) << "no replica took over from " << killed;
  // The promoted master has no replica until the old one comes back as its replica: until
  // then saves are refused (not replicated), then accepted again.
  own.restart(killed);
  std::size_t after = acked_count;
  EXPECT_TRUE(test::wait_until([&] { return acked_count > after + 100; }, 20s));
  stop = true;
  load.join();
  ASSERT_GT(acked.size(), after);
  EXPECT_TRUE(all_delivered(acked, 30s))
      << "acknowledged: " << acked.size() << ", refused batches: " << refused;
  // Nothing stays stuck: both queues drain (every shard's).
  EXPECT_TRUE(test::wait_until([&] { return queued("dgfa") == 0 && queued("fghyds") == 0; }, 20s));
  for (auto id : {acked.front(), acked.back()}) EXPECT_TRUE(wait_status(id, "fghyds", "done"));
}

TEST_P(cluster_faults_test, a_slot_migrated_during_traffic_loses_nothing) {
  int slot = test::redis_cluster::slot_of("dmq:{sds}:q:dgfa");
  int from = own.port_of_slot(slot), to = 0;
  for (int p : own.master_ports())
    if (p != from) to = p;
  ASSERT_NE(to, 0);
  std::atomic<bool> stop{false};
  std::vector<std::uint64_t> acked;
  int refused = 0;
  std::thread load([&] { traffic(stop, 20000, acked, refused); });
  ASSERT_TRUE(endpoint.wait_for_count(50, 10s));
  own.begin_migration(slot, to);
  // Keys move a few at a time while messages keep coming, as redis-cli --cluster reshard
  // moves them: a new key goes to the target (ASK), a transaction whose keys are split
  // between the two is answered TRYAGAIN until they are together.
  for (int round = 0; round < 200; ++round) {
    std::size_t before = acked_count;
    test::wait_until([&] { return acked_count > before + 20; }, 2s);
    if (own.move_keys(slot, 10) == 0) break;
  }
  own.finish_migration(slot);
  EXPECT_EQ(own.port_of_slot(slot), to);
  std::size_t after = acked_count;
  EXPECT_TRUE(test::wait_until([&] { return acked_count > after + 100; }, 20s));
  stop = true;
  load.join();
  EXPECT_TRUE(all_delivered(acked, 30s))
      << "acknowledged: " << acked.size() << ", refused batches: " << refused;
  EXPECT_TRUE(test::wait_until([&] { return queued("dgfa") == 0; }, 20s));
  // A migration is invisible to producers: dmq follows ASK and MOVED, and sends again what
  // the cluster answered TRYAGAIN.
  EXPECT_EQ(refused, 0);
  auto metrics = test::call(port, "GET", "/metrics").body;
  auto count = [&](const std::string& kind) {
    auto at = metrics.find("dmq_redis_redirects_total{kind=\"" + kind + "\"} ");
    return at == std::string::npos ? -1 : std::stoll(metrics.substr(metrics.find(' ', at) + 1));
  };
  EXPECT_GT(count("ask"), 0) << metrics;
  EXPECT_GT(count("moved"), 0);
}

INSTANTIATE_TEST_SUITE_P(on, cluster_faults_test,
                         ::testing::Values(backend::cluster, backend::cluster_shards),
                         [](const auto& p) { return name_of(p.param); });
const auto name = [](const auto& p) { return name_of(p.param); };
const auto every = ::testing::Values(backend::single, backend::cluster, backend::single_shards,
                                     backend::cluster_shards);
INSTANTIATE_TEST_SUITE_P(on, backends_test, every, name);
INSTANTIATE_TEST_SUITE_P(on, backends_wait_test,
                         ::testing::Values(backend::single, backend::cluster), name);
INSTANTIATE_TEST_SUITE_P(on, backends_ordered_test, every, name);
INSTANTIATE_TEST_SUITE_P(on, backends_kill_test, every, name);

}  // namespace
}  // namespace dmq::e2e
