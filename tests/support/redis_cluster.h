// redis_cluster: a real local Redis Cluster for one test: Debian's redis-server started with
// --cluster-enabled yes on free loopback ports (each node in its own temp dir), joined by
// `redis-cli --cluster create`, and killed (SIGKILL) and removed when the test ends; a small
// synchronous client (hiredis) that routes each command by the slot of its first key and
// follows MOVED and ASK; and the operations a test needs to make the cluster change under
// dmq: kill a master (a replica takes over), restart a node, migrate a slot step by step.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "redis/reply.h"
#include "support/redis_target.h"

namespace dmq::test {

struct redis_cluster_options {
  int masters = 3;
  int replicas = 1;  // per master
  // cluster-node-timeout: how long a node may not answer before it is taken as failed
  int node_timeout_ms = 1000;
  // with an append-only file fsynced at every write (appendfsync always)
  bool aof = false;
};

class redis_cluster : public redis_target {
 public:
  // Starts masters * (1 + replicas) nodes and joins them (`redis-cli --cluster create
  // --cluster-replicas R --cluster-yes`); returns once every node says cluster_state:ok with
  // all 16384 slots assigned, every node gives the same CLUSTER SLOTS, and every replica is
  // in sync with its master (link up, same offset). Throws, with the nodes' logs, if that
  // does not happen within a bound (30 s).
  explicit redis_cluster(redis_cluster_options o = {});
  ~redis_cluster() override;  // kills every node (SIGKILL), removes their dirs
  redis_cluster(const redis_cluster&) = delete;
  redis_cluster& operator=(const redis_cluster&) = delete;

  std::vector<int> ports() const;         // every node started, in start order
  std::vector<int> master_ports() const;  // the live masters now (CLUSTER NODES), sorted
  std::string seeds_yaml() const;         // "[127.0.0.1:p1, 127.0.0.1:p2, ...]", every node
  bool alive(int port) const;             // the node on port runs (not killed)

  // slot_of: the hash slot of key, as Redis computes it: CRC16 (XMODEM) of the key, or of
  // its hash tag (what is between the first '{' and the first '}' after it, if not empty),
  // modulo 16384.
  static int slot_of(std::string_view key);
  // port_of_slot: the master that serves slot now, as the first live node asked says
  // (CLUSTER SLOTS); -1 if none does.
  int port_of_slot(int slot) const;
  // node_id: the cluster node id of the node on port (CLUSTER MYID).
  std::string node_id(int port) const;

  // cmd, cmd_via, pipeline and the read-only calls above may run on several threads at once,
  // also while one thread kills or restarts a node; the operations below on one thread.
  //
  // cmd runs one command on the master that serves its first key (EVAL/EVALSHA/FCALL: the
  // first of numkeys; XREAD/XREADGROUP: the first after STREAMS; a command not known here:
  // COMMAND GETKEYS), following MOVED and ASK (ASKING first) up to 5 times and refreshing
  // the slot map on a redirect or a node that does not answer; keyless commands go to a
  // master. The reply of the last node tried is returned ("cannot connect" if none answered).
  redis::reply cmd(const std::vector<std::string>& args) const override;
  // cmd_via is cmd, but asks the node on port first (say, one that does not serve the key).
  redis::reply cmd_via(int port, const std::vector<std::string>& args) const;
  // pipeline runs cmds on one connection to the master of the first command's first key
  // (a write then WAIT 1, MULTI ... EXEC), redirects followed for the whole pipeline.
  std::vector<redis::reply> pipeline(const std::vector<std::vector<std::string>>& cmds) const;
  // on_every_master runs args on each live master; replies in master_ports() order.
  std::vector<redis::reply> on_every_master(const std::vector<std::string>& args) const;
  // redirects: the MOVED and ASK replies cmd, cmd_via and pipeline have followed so far.
  struct redirect_counts {
    int moved = 0;
    int ask = 0;
  };
  redirect_counts redirects() const;

  // redis_target
  std::string config_yaml() const override;  // "  cluster: [127.0.0.1:p1, ...]\n"
  bool is_cluster() const override { return true; }
  std::set<std::string> scan_keys(const std::string& pattern = "*") const override;

  // kill_master_of kills (SIGKILL) the master that serves slot now and returns its port.
  int kill_master_of(int slot);
  // wait_failover waits up to bound until slot is served by a live master that every live
  // node names for it, and every live node says cluster_state:ok; returns whether it was.
  bool wait_failover(int slot, std::chrono::milliseconds bound);
  // restart starts the killed node on port again with its dir (nodes.conf: same node id) and
  // waits (bounded; throws) until it has rejoined: cluster_state:ok, no live node flags it as
  // failed, and as a replica (a master that was failed over comes back as one) in sync.
  void restart(int port);

  // Slot migration, step by step, so that a test can run traffic in between (the ASK path):
  // begin_migration marks slot IMPORTING on to_port and MIGRATING on its master now;
  // move_keys MIGRATEs up to max_keys of the slot's keys to to_port, returning how many;
  // finish_migration moves the keys left, then CLUSTER SETSLOT slot NODE to_port on the
  // target, the source and every other master, and waits (bounded; throws) until every
  // live node names to_port for slot. Each throws if Redis refuses a step.
  void begin_migration(int slot, int to_port);
  int move_keys(int slot, int max_keys);
  void finish_migration(int slot);

 private:
  struct node {
    int port = 0;
    int bus_port = 0;            // --cluster-port (port + 10000, the default, may be above 65535)
    std::atomic<pid_t> pid{-1};  // -1: not running (read by cmd, from any thread)
    std::string dir;
  };
  struct migration {
    int from = 0;
    int to = 0;
  };

  void start_node(node& n) const;  // forks redis-server for n (its dir made)
  bool answers(const node& n) const;
  void stop_node(node& n);
  void start_all();
  void create();  // redis-cli --cluster create
  bool touch_masters() const;
  void wait_until_settled(std::chrono::milliseconds bound);
  std::string settled_why_not() const;  // "" when settled
  std::string logs() const;             // each node's log, for an exception's text
  const node* find(int port) const;
  node* find(int port);
  std::vector<int> live_ports() const;

  // slot map: owner port of each slot, from CLUSTER SLOTS of a live node
  void refresh_map() const;
  int cached_port(int slot) const;
  void note_owner(int slot, int port) const;
  std::vector<redis::reply> routed(int port, int slot,
                                   const std::vector<std::vector<std::string>>& cmds) const;
  int slot_of_command(const std::vector<std::string>& args) const;  // -1: keyless

  redis_cluster_options opt_;
  std::string base_;
  std::deque<node> nodes_;  // port and dir set before any command
  std::map<int, migration> migrations_;
  mutable std::mutex mu_;  // guards the two below
  mutable std::vector<int> owner_;
  mutable redirect_counts redirects_;
};

}  // namespace dmq::test
