#include "support/redis_cluster.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <tuple>
#include <unordered_set>

#include "support/ports.h"
#include "support/redis_server.h"

namespace dmq::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr int slot_count = 16384;
constexpr int max_redirects = 5;
const std::string cannot_connect = "cannot connect";

// spawn forks and execs argv (found on PATH), its stdout and stderr appended to out; the
// child is killed if this thread's process dies (PR_SET_PDEATHSIG). Returns its pid.
pid_t spawn(const std::vector<std::string>& argv, const std::string& out) {
  std::vector<char*> av;
  for (const auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("cannot fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    ::execvp(av[0], av.data());
    ::_exit(127);
  }
  return pid;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// tail returns the last n lines of text.
std::string tail(const std::string& text, int n) {
  auto at = text.size();
  for (int i = 0; i <= n && at != std::string::npos && at > 0; ++i) at = text.rfind('\n', at - 1);
  return at == std::string::npos ? text : text.substr(at + 1);
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// field reads "name:value" from an INFO text; "" if absent.
std::string field(const std::string& info, std::string_view name) {
  std::string want = std::string(name) + ":";
  for (std::size_t at = 0; at < info.size();) {
    auto eol = info.find_first_of("\r\n", at);
    if (eol == std::string::npos) eol = info.size();
    if (info.compare(at, want.size(), want) == 0)
      return info.substr(at + want.size(), eol - at - want.size());
    at = eol + 1;
  }
  return "";
}

// slave_lines returns the "slaveN:" values of a master's INFO replication.
std::vector<std::string> slave_lines(const std::string& info) {
  std::vector<std::string> out;
  for (int i = 0;; ++i) {
    auto v = field(info, "slave" + std::to_string(i));
    if (v.empty()) return out;
    out.push_back(v);
  }
}

// ranges: CLUSTER SLOTS as (start, end, master port, sorted replica ports), sorted.
using slot_range = std::tuple<long long, long long, long long, std::vector<long long>>;
std::vector<slot_range> ranges(const redis::reply& r) {
  std::vector<slot_range> out;
  for (const auto& e : r.elements) {
    if (e.elements.size() < 3 || e.elements[2].elements.size() < 2) continue;
    std::vector<long long> replicas;
    for (std::size_t i = 3; i < e.elements.size(); ++i)
      if (e.elements[i].elements.size() >= 2) replicas.push_back(e.elements[i].elements[1].integer);
    std::sort(replicas.begin(), replicas.end());
    out.emplace_back(e.elements[0].integer, e.elements[1].integer,
                     e.elements[2].elements[1].integer, std::move(replicas));
  }
  std::sort(out.begin(), out.end());
  return out;
}

int owner_in(const std::vector<slot_range>& rs, int slot) {
  for (const auto& [lo, hi, master, replicas] : rs)
    if (slot >= lo && slot <= hi) return static_cast<int>(master);
  return -1;
}

// redirect parses "MOVED 3999 127.0.0.1:6381" (or ASK): the port; -1 if not such an error.
int redirect(const redis::reply& r, std::string_view kind) {
  if (!r.is_error() || !r.str.starts_with(kind) || r.str.size() <= kind.size() ||
      r.str[kind.size()] != ' ')
    return -1;
  auto colon = r.str.rfind(':');
  int port = -1;
  if (colon == std::string::npos) return -1;
  std::from_chars(r.str.data() + colon + 1, r.str.data() + r.str.size(), port);
  return port;
}

// first_key: the index in args of a command's first key; -1 if it has none; -2 if the
// command is not known here (then COMMAND GETKEYS answers).
int first_key(const std::vector<std::string>& args) {
  static const std::unordered_set<std::string> keyless = {
      "ACL",      "ASKING",   "AUTH",      "BGREWRITEAOF", "BGSAVE",    "CLIENT",    "CLUSTER",
      "COMMAND",  "CONFIG",   "DBSIZE",    "DEBUG",        "DISCARD",   "ECHO",      "EXEC",
      "FAILOVER", "FLUSHALL", "FLUSHDB",   "FUNCTION",     "HELLO",     "INFO",      "KEYS",
      "LASTSAVE", "LATENCY",  "LOLWUT",    "MONITOR",      "MULTI",     "PING",      "PSUBSCRIBE",
      "PUBLISH",  "PUBSUB",   "RANDOMKEY", "READONLY",     "READWRITE", "REPLICAOF", "ROLE",
      "SAVE",     "SCAN",     "SCRIPT",    "SELECT",       "SLOWLOG",   "SUBSCRIBE", "TIME",
      "UNWATCH",  "WAIT",     "WAITAOF"};
  static const std::unordered_set<std::string> at_one = {"APPEND",
                                                         "BITCOUNT",
                                                         "COPY",
                                                         "DECR",
                                                         "DECRBY",
                                                         "DEL",
                                                         "DUMP",
                                                         "EXISTS",
                                                         "EXPIRE",
                                                         "EXPIREAT",
                                                         "EXPIRETIME",
                                                         "GET",
                                                         "GETDEL",
                                                         "GETEX",
                                                         "GETRANGE",
                                                         "GETSET",
                                                         "HDEL",
                                                         "HEXISTS",
                                                         "HGET",
                                                         "HGETALL",
                                                         "HINCRBY",
                                                         "HKEYS",
                                                         "HLEN",
                                                         "HMGET",
                                                         "HMSET",
                                                         "HSCAN",
                                                         "HSET",
                                                         "HSETNX",
                                                         "HVALS",
                                                         "INCR",
                                                         "INCRBY",
                                                         "LINDEX",
                                                         "LLEN",
                                                         "LPOP",
                                                         "LPUSH",
                                                         "LRANGE",
                                                         "LREM",
                                                         "LTRIM",
                                                         "MGET",
                                                         "MSET",
                                                         "PERSIST",
                                                         "PEXPIRE",
                                                         "PEXPIREAT",
                                                         "PEXPIRETIME",
                                                         "PSETEX",
                                                         "PTTL",
                                                         "RENAME",
                                                         "RESTORE",
                                                         "RPOP",
                                                         "RPUSH",
                                                         "SADD",
                                                         "SCARD",
                                                         "SET",
                                                         "SETEX",
                                                         "SETNX",
                                                         "SISMEMBER",
                                                         "SMEMBERS",
                                                         "SPUBLISH",
                                                         "SREM",
                                                         "SSCAN",
                                                         "SSUBSCRIBE",
                                                         "STRLEN",
                                                         "TOUCH",
                                                         "TTL",
                                                         "TYPE",
                                                         "UNLINK",
                                                         "WATCH",
                                                         "XACK",
                                                         "XADD",
                                                         "XAUTOCLAIM",
                                                         "XCLAIM",
                                                         "XDEL",
                                                         "XLEN",
                                                         "XPENDING",
                                                         "XRANGE",
                                                         "XREVRANGE",
                                                         "XTRIM",
                                                         "ZADD",
                                                         "ZCARD",
                                                         "ZCOUNT",
                                                         "ZINCRBY",
                                                         "ZMSCORE",
                                                         "ZPOPMAX",
                                                         "ZPOPMIN",
                                                         "ZRANGE",
                                                         "ZRANGEBYSCORE",
                                                         "ZRANK",
                                                         "ZREM",
                                                         "ZREMRANGEBYSCORE",
                                                         "ZREVRANGE",
                                                         "ZREVRANGEBYSCORE",
                                                         "ZREVRANK",
                                                         "ZSCAN",
                                                         "ZSCORE"};
  if (args.empty()) return -1;
  auto name = upper(args[0]);
  if (keyless.contains(name)) return -1;
  if (at_one.contains(name)) return args.size() > 1 ? 1 : -1;
  if (name == "OBJECT" || name == "XINFO" || name == "XGROUP") return args.size() > 2 ? 2 : -1;
  if (name == "MEMORY") return args.size() > 2 && upper(args[1]) == "USAGE" ? 2 : -1;
  if (name == "EVAL" || name == "EVALSHA" || name == "EVAL_RO" || name == "EVALSHA_RO" ||
      name == "FCALL" || name == "FCALL_RO") {
    long long numkeys = 0;
    if (args.size() > 2) std::from_chars(args[2].data(), args[2].data() + args[2].size(), numkeys);
    return numkeys > 0 && args.size() > 3 ? 3 : -1;
  }
  if (name == "XREAD" || name == "XREADGROUP") {
    for (std::size_t i = 1; i + 1 < args.size(); ++i)
      if (upper(args[i]) == "STREAMS") return static_cast<int>(i + 1);
    return -1;
  }
  return -2;
}

}  // namespace

// ---- slots ----------------------------------------------------------------------------

int redis_cluster::slot_of(std::string_view key) {
  auto open = key.find('{');
  if (open != std::string_view::npos) {
    auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close != open + 1)
      key = key.substr(open + 1, close - open - 1);
  }
  // CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, no reflection.
  std::uint16_t crc = 0;
  for (unsigned char c : key) {
    crc ^= static_cast<std::uint16_t>(c << 8);
    for (int bit = 0; bit < 8; ++bit)
      crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
  }
  return crc & (slot_count - 1);
}

// ---- nodes ----------------------------------------------------------------------------

redis_cluster::redis_cluster(redis_cluster_options o) : opt_(o) {
  static std::atomic<int> n{0};
  base_ = (fs::temp_directory_path() /
           ("dmq-cluster-" + std::to_string(::getpid()) + "-" + std::to_string(n++)))
              .string();
  fs::create_directories(base_);
  for (int i = 0; i < opt_.masters * (1 + opt_.replicas); ++i) nodes_.emplace_back();
  try {
    start_all();
    create();
    if (!wait_until([&] { return touch_masters(); }, 30s))
      throw std::runtime_error("redis_cluster: masters refuse writes after 30 s\n" + logs());
    wait_until_settled(30s);
    refresh_map();
  } catch (...) {
    for (auto& nd : nodes_) stop_node(nd);
    std::error_code ec;
    fs::remove_all(base_, ec);
    throw;
  }
}

redis_cluster::~redis_cluster() {
  for (auto& nd : nodes_) stop_node(nd);
  std::error_code ec;
  fs::remove_all(base_, ec);
}

void redis_cluster::start_node(node& n) const {
  fs::create_directories(n.dir);
  std::vector<std::string> argv = {
      "redis-server", "--port", std::to_string(n.port), "--bind", "127.0.0.1", "--dir", n.dir,
      "--logfile", n.dir + "/redis.log", "--cluster-enabled", "yes", "--cluster-port",
      std::to_string(n.bus_port), "--cluster-config-file", "nodes.conf", "--cluster-node-timeout",
      std::to_string(opt_.node_timeout_ms),
      // a replica may always take over, however long ago it
      // last heard from its master
      "--cluster-replica-validity-factor", "0", "--save", "", "--appendonly",
      opt_.aof ? "yes" : "no", "--appendfsync", "always",
      // replicas sync at once (the default waits 5 s for more)
      "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"};
  n.pid = spawn(argv, n.dir + "/stdout.log");
}

// answers: the server on the node's port is this node (its dir is the node's dir), not a
// process that was there before.
bool redis_cluster::answers(const node& n) const {
  auto r = redis_cmd(n.port, {}, {"CONFIG", "GET", "dir"});
  return r.elements.size() == 2 && r.elements[1].str == fs::weakly_canonical(n.dir).string();
}

void redis_cluster::stop_node(node& n) {
  pid_t pid = n.pid.exchange(-1);
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

// start_all starts every node at once and waits until each answers. Another process may
// bind a port between free_port and redis-server: then that node exits at once and starts
// again on other ports.
void redis_cluster::start_all() {
  std::vector<node*> todo;
  for (auto& nd : nodes_) todo.push_back(&nd);
  for (int tries = 0; !todo.empty(); ++tries) {
    if (tries == 5)
      throw std::runtime_error("redis_cluster: nodes keep exiting at once\n" + logs());
    for (auto* nd : todo) {
      nd->port = free_port();
      nd->bus_port = free_port();
      nd->dir = base_ + "/" + std::to_string(nd->port);
      start_node(*nd);
    }
    std::vector<node*> exited;
    bool up = wait_until([&] {
      exited.clear();
      bool all = true;
      for (auto* nd : todo) {
        int status = 0;
        if (nd->pid > 0 && ::waitpid(nd->pid, &status, WNOHANG) == nd->pid) nd->pid = -1;
        if (nd->pid <= 0)
          exited.push_back(nd);
        else if (!answers(*nd))
          all = false;
      }
      return all;
    });
    if (!up) throw std::runtime_error("redis_cluster: nodes did not start in 10 s\n" + logs());
    todo = exited;
  }
}

// create joins the nodes: `redis-cli --cluster create`, bounded.
void redis_cluster::create() {
  std::vector<std::string> argv = {"redis-cli", "--cluster", "create"};
  for (const auto& nd : nodes_) argv.push_back("127.0.0.1:" + std::to_string(nd.port));
  argv.insert(argv.end(), {"--cluster-replicas", std::to_string(opt_.replicas), "--cluster-yes"});
  auto log = base_ + "/create.log";
  pid_t pid = spawn(argv, log);
  int status = 0;
  bool done = wait_until([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 30s);
  if (!done) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    throw std::runtime_error("redis-cli --cluster create took over 30 s:\n" + read_text(log));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("redis-cli --cluster create failed:\n" + read_text(log) + logs());
}

// touch_masters writes (and deletes) a key on each master; false if a master refuses (its
// cluster_state is not ok yet). A replica is listed in CLUSTER SLOTS only once its
// replication offset is not 0, which without a write takes until the master's first ping
// to it (repl-ping-replica-period, 10 s).
bool redis_cluster::touch_masters() const {
  for (const auto& nd : nodes_) {
    auto rs = ranges(redis_cmd(nd.port, {}, {"CLUSTER", "SLOTS"}));
    bool master = false;
    for (const auto& r : rs) master = master || std::get<2>(r) == nd.port;
    if (!master) continue;
    for (int i = 0; i < 1000000; ++i) {
      auto key = "dmq-test-touch-" + std::to_string(i);
      if (owner_in(rs, slot_of(key)) != nd.port) continue;
      auto r = redis_cmds(nd.port, {{"SET", key, "x"}, {"DEL", key}});
      if (r[0].str != "OK") return false;
      break;
    }
  }
  return true;
}

void redis_cluster::wait_until_settled(std::chrono::milliseconds bound) {
  std::string why;
  if (!wait_until([&] { return (why = settled_why_not()).empty(); }, bound))
    throw std::runtime_error("redis_cluster: not settled within " + std::to_string(bound.count()) +
                             " ms: " + why + "\n" + logs());
}

// settled_why_not says why the live nodes are not yet one healthy cluster ("" if they are):
// each says cluster_state:ok with every slot assigned, names every live node without a
// fail flag, and gives the same CLUSTER SLOTS; each replica is in sync with its master.
std::string redis_cluster::settled_why_not() const {
  std::vector<slot_range> first;
  std::map<int, long long> master_offset;  // master port -> master_repl_offset
  std::map<int, std::string> master_info;
  std::vector<std::tuple<int, int, long long>> replica_offsets;  // replica, master, offset
  bool all_alive = true;
  for (const auto& nd : nodes_) all_alive = all_alive && nd.pid > 0;
  for (const auto& nd : nodes_) {
    if (nd.pid <= 0) continue;
    auto at = " on " + std::to_string(nd.port);
    auto replies = redis_cmds(
        nd.port,
        {{"CLUSTER", "INFO"}, {"CLUSTER", "SLOTS"}, {"CLUSTER", "NODES"}, {"INFO", "replication"}});
    const auto& info = replies[0].str;
    if (field(info, "cluster_state") != "ok") return "cluster_state not ok" + at;
    if (field(info, "cluster_slots_assigned") != "16384") return "slots not all assigned" + at;
    if (field(info, "cluster_slots_ok") != "16384") return "slots not all ok" + at;
    auto rs = ranges(replies[1]);
    if (first.empty()) first = rs;
    if (rs != first) return "CLUSTER SLOTS differs" + at;
    std::istringstream lines(replies[2].str);
    for (std::string line; std::getline(lines, line);) {
      std::istringstream words(line);
      std::string id, addr, flags;
      words >> id >> addr >> flags;
      int port = std::atoi(addr.substr(addr.find(':') + 1).c_str());
      if (alive(port) && flags.find("fail") != std::string::npos)
        return std::to_string(port) + " flagged " + flags + at;
    }
    const auto& repl = replies[3].str;
    if (field(repl, "role") == "master") {
      master_offset[nd.port] = std::atoll(field(repl, "master_repl_offset").c_str());
      master_info[nd.port] = repl;
    } else {
      if (field(repl, "master_link_status") != "up") return "replica link down" + at;
      if (field(repl, "master_sync_in_progress") != "0") return "replica syncing" + at;
      replica_offsets.emplace_back(nd.port, std::atoi(field(repl, "master_port").c_str()),
                                   std::atoll(field(repl, "slave_repl_offset").c_str()));
    }
  }
  if (first.empty()) return "no live node answers";
  for (const auto& [replica, master, offset] : replica_offsets) {
    auto at = " (" + std::to_string(replica) + " of " + std::to_string(master) + ")";
    if (!master_offset.contains(master)) return "replica's master is not a live master" + at;
    if (master_offset[master] != offset) return "replica behind" + at;
    bool online = false;
    for (const auto& s : slave_lines(master_info[master]))
      if (s.find("port=" + std::to_string(replica) + ",state=online") != std::string::npos)
        online = true;
    if (!online) return "replica not online at its master" + at;
  }
  if (all_alive) {
    for (const auto& r : first)
      if (std::get<3>(r).size() != static_cast<std::size_t>(opt_.replicas))
        return "a master without its replicas";
  }
  return "";
}

std::string redis_cluster::logs() const {
  std::string out = "redis-cli --cluster create:\n" + tail(read_text(base_ + "/create.log"), 20);
  for (const auto& nd : nodes_) {
    out += "--- node " + std::to_string(nd.port) + (nd.pid > 0 ? "" : " (not running)") + ":\n";
    out += tail(read_text(nd.dir + "/stdout.log") + read_text(nd.dir + "/redis.log"), 12);
  }
  return out;
}

const redis_cluster::node* redis_cluster::find(int port) const {
  for (const auto& nd : nodes_)
    if (nd.port == port) return &nd;
  return nullptr;
}

redis_cluster::node* redis_cluster::find(int port) {
  for (auto& nd : nodes_)
    if (nd.port == port) return &nd;
  return nullptr;
}

bool redis_cluster::alive(int port) const {
  const auto* nd = find(port);
  return nd && nd->pid > 0;
}

std::vector<int> redis_cluster::live_ports() const {
  std::vector<int> out;
  for (const auto& nd : nodes_)
    if (nd.pid > 0) out.push_back(nd.port);
  return out;
}

std::vector<int> redis_cluster::ports() const {
  std::vector<int> out;
  for (const auto& nd : nodes_) out.push_back(nd.port);
  return out;
}

std::vector<int> redis_cluster::master_ports() const {
  for (int port : live_ports()) {
    auto r = redis_cmd(port, {}, {"CLUSTER", "NODES"});
    if (r.is_error() || r.str.empty()) continue;
    std::vector<int> out;
    std::istringstream lines(r.str);
    for (std::string line; std::getline(lines, line);) {
      std::istringstream words(line);
      std::string id, addr, flags;
      words >> id >> addr >> flags;
      int p = std::atoi(addr.substr(addr.find(':') + 1).c_str());
      if (flags.find("master") != std::string::npos && flags.find("fail") == std::string::npos &&
          alive(p))
        out.push_back(p);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  return {};
}

std::string redis_cluster::seeds_yaml() const {
  std::string out = "[";
  for (const auto& nd : nodes_)
    out += (out.size() > 1 ? ", 127.0.0.1:" : "127.0.0.1:") + std::to_string(nd.port);
  return out + "]";
}

std::string redis_cluster::config_yaml() const {
  return "  cluster: " + seeds_yaml() + "\n";
}

std::string redis_cluster::node_id(int port) const {
  auto r = redis_cmd(port, {}, {"CLUSTER", "MYID"});
  if (r.is_error() || r.str.empty())
    throw std::runtime_error("CLUSTER MYID on " + std::to_string(port) + ": " + r.str);
  return r.str;
}

int redis_cluster::port_of_slot(int slot) const {
  for (int port : live_ports()) {
    auto r = redis_cmd(port, {}, {"CLUSTER", "SLOTS"});
    if (r.is_array()) return owner_in(ranges(r), slot);
  }
  return -1;
}

// ---- routing --------------------------------------------------------------------------

void redis_cluster::refresh_map() const {
  for (int port : live_ports()) {
    auto r = redis_cmd(port, {}, {"CLUSTER", "SLOTS"});
    if (!r.is_array()) continue;
    std::vector<int> owner(slot_count, -1);
    for (const auto& [lo, hi, master, replicas] : ranges(r))
      for (auto s = lo; s <= hi && s < slot_count; ++s)
        owner[static_cast<std::size_t>(s)] = static_cast<int>(master);
    std::lock_guard lock(mu_);
    owner_ = std::move(owner);
    return;
  }
}

int redis_cluster::cached_port(int slot) const {
  {
    std::lock_guard lock(mu_);
    if (!owner_.empty()) {
      if (slot >= 0) return owner_[static_cast<std::size_t>(slot)];
      for (int p : owner_)
        if (p > 0 && alive(p)) return p;
    }
  }
  refresh_map();
  std::lock_guard lock(mu_);
  if (owner_.empty()) return -1;
  return owner_[static_cast<std::size_t>(std::max(slot, 0))];
}

void redis_cluster::note_owner(int slot, int port) const {
  std::lock_guard lock(mu_);
  if (slot >= 0 && !owner_.empty()) owner_[static_cast<std::size_t>(slot)] = port;
}

redis_cluster::redirect_counts redis_cluster::redirects() const {
  std::lock_guard lock(mu_);
  return redirects_;
}

int redis_cluster::slot_of_command(const std::vector<std::string>& args) const {
  int at = first_key(args);
  if (at >= 0) return slot_of(args[static_cast<std::size_t>(at)]);
  if (at == -1) return -1;
  std::vector<std::string> getkeys = {"COMMAND", "GETKEYS"};
  getkeys.insert(getkeys.end(), args.begin(), args.end());
  for (int port : live_ports()) {
    auto r = redis_cmd(port, {}, getkeys);
    if (r.str == cannot_connect) continue;
    if (r.is_array() && !r.elements.empty()) return slot_of(r.elements[0].str);
    return -1;
  }
  return -1;
}

// routed runs cmds on port (the slot's master, as far as known), following MOVED and ASK,
// and on a node that does not answer, the refreshed slot map.
std::vector<redis::reply> redis_cluster::routed(
    int port, int slot, const std::vector<std::vector<std::string>>& cmds) const {
  bool asking = false;
  std::vector<redis::reply> out;
  for (int tries = 0; tries <= max_redirects; ++tries) {
    if (port <= 0) port = cached_port(slot);
    if (asking) {
      std::vector<std::vector<std::string>> with = {{"ASKING"}};
      with.insert(with.end(), cmds.begin(), cmds.end());
      out = redis_cmds(port, with);
      out.erase(out.begin());
    } else {
      out = redis_cmds(port, cmds);
    }
    asking = false;
    const auto& first = out.front();
    if (int to = redirect(first, "MOVED"); to > 0) {
      note_owner(slot, to);
      std::lock_guard lock(mu_);
      ++redirects_.moved;
      port = to;
    } else if (int to = redirect(first, "ASK"); to > 0) {
      std::lock_guard lock(mu_);
      ++redirects_.ask;
      port = to;
      asking = true;
    } else if (first.is_error() && first.str == cannot_connect) {
      refresh_map();
      port = cached_port(slot);
    } else {
      break;
    }
  }
  return out;
}

redis::reply redis_cluster::cmd(const std::vector<std::string>& args) const {
  int slot = slot_of_command(args);
  return routed(cached_port(slot), slot, {args}).front();
}

redis::reply redis_cluster::cmd_via(int port, const std::vector<std::string>& args) const {
  return routed(port, slot_of_command(args), {args}).front();
}

std::vector<redis::reply> redis_cluster::pipeline(
    const std::vector<std::vector<std::string>>& cmds) const {
  if (cmds.empty()) return {};
  int slot = slot_of_command(cmds.front());
  return routed(cached_port(slot), slot, cmds);
}

std::vector<redis::reply> redis_cluster::on_every_master(
    const std::vector<std::string>& args) const {
  std::vector<redis::reply> out;
  for (int port : master_ports()) out.push_back(redis_cmd(port, {}, args));
  return out;
}

std::set<std::string> redis_cluster::scan_keys(const std::string& pattern) const {
  std::set<std::string> out;
  for (int port : master_ports()) out.merge(redis_scan(port, {}, pattern));
  return out;
}

// ---- failures -------------------------------------------------------------------------

int redis_cluster::kill_master_of(int slot) {
  int port = port_of_slot(slot);
  auto* nd = find(port);
  if (!nd || nd->pid <= 0)
    throw std::runtime_error("kill_master_of: no live master serves slot " + std::to_string(slot));
  stop_node(*nd);
  return port;
}

bool redis_cluster::wait_failover(int slot, std::chrono::milliseconds bound) {
  bool ok = wait_until(
      [&] {
        int owner = -1;
        for (int port : live_ports()) {
          auto replies = redis_cmds(port, {{"CLUSTER", "INFO"}, {"CLUSTER", "SLOTS"}});
          if (field(replies[0].str, "cluster_state") != "ok") return false;
          int o = owner_in(ranges(replies[1]), slot);
          if (o < 0 || !alive(o) || (owner >= 0 && o != owner)) return false;
          owner = o;
        }
        return owner > 0 &&
               field(redis_cmd(owner, {}, {"INFO", "replication"}).str, "role") == "master";
      },
      bound);
  refresh_map();
  return ok;
}

void redis_cluster::restart(int port) {
  auto* nd = find(port);
  if (!nd) throw std::runtime_error("restart: no node on " + std::to_string(port));
  if (nd->pid > 0) throw std::runtime_error("restart: node " + std::to_string(port) + " runs");
  start_node(*nd);
  int status = 0;
  bool exited = false;
  bool up = wait_until([&] {
    exited = ::waitpid(nd->pid, &status, WNOHANG) == nd->pid;
    return exited || answers(*nd);
  });
  if (exited) nd->pid = -1;
  if (!up || exited)
    throw std::runtime_error("restart: node " + std::to_string(port) + " did not start\n" + logs());
  wait_until_settled(30s);
  refresh_map();
}

// ---- migration ------------------------------------------------------------------------

namespace {
void expect_ok(const redis::reply& r, const std::string& what) {
  if (r.is_error() || (r.str != "OK" && r.str != "NOKEY"))
    throw std::runtime_error(what + ": " + (r.str.empty() ? "no answer" : r.str));
}
}  // namespace

void redis_cluster::begin_migration(int slot, int to_port) {
  int from = port_of_slot(slot);
  if (from < 0 || from == to_port)
    throw std::runtime_error("begin_migration: slot " + std::to_string(slot) + " is on " +
                             std::to_string(from));
  auto s = std::to_string(slot);
  expect_ok(redis_cmd(to_port, {}, {"CLUSTER", "SETSLOT", s, "IMPORTING", node_id(from)}),
            "SETSLOT IMPORTING on " + std::to_string(to_port));
  expect_ok(redis_cmd(from, {}, {"CLUSTER", "SETSLOT", s, "MIGRATING", node_id(to_port)}),
            "SETSLOT MIGRATING on " + std::to_string(from));
  migrations_[slot] = {from, to_port};
}

int redis_cluster::move_keys(int slot, int max_keys) {
  auto m = migrations_.find(slot);
  if (m == migrations_.end())
    throw std::runtime_error("move_keys: slot " + std::to_string(slot) + " is not migrating");
  auto [from, to] = m->second;
  auto keys = redis_cmd(
      from, {}, {"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), std::to_string(max_keys)});
  if (!keys.is_array()) throw std::runtime_error("CLUSTER GETKEYSINSLOT: " + keys.str);
  if (keys.elements.empty()) return 0;
  std::vector<std::string> migrate = {"MIGRATE", "127.0.0.1", std::to_string(to), "", "0",
                                      "5000",    "KEYS"};
  for (const auto& k : keys.elements) migrate.push_back(k.str);
  expect_ok(redis_cmd(from, {}, migrate), "MIGRATE from " + std::to_string(from));
  return static_cast<int>(keys.elements.size());
}

void redis_cluster::finish_migration(int slot) {
  auto m = migrations_.find(slot);
  if (m == migrations_.end())
    throw std::runtime_error("finish_migration: slot " + std::to_string(slot) +
                             " is not migrating");
  auto [from, to] = m->second;
  while (move_keys(slot, 100) > 0) {
  }
  auto s = std::to_string(slot);
  auto id = node_id(to);
  std::vector<int> order = {to, from};
  for (int p : master_ports())
    if (p != to && p != from) order.push_back(p);
  for (int p : order)
    expect_ok(redis_cmd(p, {}, {"CLUSTER", "SETSLOT", s, "NODE", id}),
              "SETSLOT NODE on " + std::to_string(p));
  migrations_.erase(m);
  bool agreed = wait_until([&] {
    for (int port : live_ports())
      if (owner_in(ranges(redis_cmd(port, {}, {"CLUSTER", "SLOTS"})), slot) != to) return false;
    return true;
  });
  refresh_map();
  if (!agreed)
    throw std::runtime_error("finish_migration: not every node names " + std::to_string(to) +
                             " for slot " + s + " within 10 s");
}

}  // namespace dmq::test
