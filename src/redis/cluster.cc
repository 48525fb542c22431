#include "redis/cluster.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>

#include "redis/routing.h"
#include "redis/slot.h"
#include "util/spawn.h"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace dmq::redis {

namespace {

using clock = std::chrono::steady_clock;

constexpr std::string_view asking = "*1\r\n$6\r\nASKING\r\n";

// redirect_in returns the first MOVED or ASK among rs.
std::optional<redirect> redirect_in(const replies& rs, std::size_t first, std::size_t last) {
  for (auto i = first; i <= last; ++i)
    if (rs[i].is_error())
      if (auto r = parse_redirect(rs[i].str)) return r;
  return std::nullopt;
}

bool busy_in(const replies& rs, std::size_t first, std::size_t last) {
  for (auto i = first; i <= last; ++i)
    if (rs[i].is_error() && retryable(rs[i].str)) return true;
  return false;
}

}  // namespace

struct cluster::impl : std::enable_shared_from_this<impl> {
  impl(asio::any_io_executor e, cluster_options o) : ex(e), opt(std::move(o)), timer(e) {}

  asio::any_io_executor ex;
  cluster_options opt;
  std::map<std::string, std::unique_ptr<connection>> conns;  // by "host:port", never removed
  std::vector<std::string> master_addrs;
  std::vector<int> owner = std::vector<int>(slot_count, -1);  // index into master_addrs
  bool known = false;
  bool stopped = false;
  std::uint64_t sessions = 0;
  std::uint64_t version = 0;
  struct {
    std::uint64_t moved = 0, ask = 0, busy = 0;
    std::uint64_t *moved_total = &moved, *ask_total = &ask, *busy_total = &busy;
  } counts;
  std::string why = "slot map not read yet";
  on_connect_fn on_connect;
  std::function<void(const reply&)> on_push;
  asio::steady_timer timer;
  clock::time_point last_refresh{};

  // seed_host is the host used for a node the cluster names without one.
  std::string seed_host() const {
    return opt.seeds.empty() ? "127.0.0.1" : split_address(opt.seeds.front()).first;
  }

  connection& conn(const std::string& addr) {
    auto it = conns.find(addr);
    if (it != conns.end()) return *it->second;
    auto o = opt.node;
    std::tie(o.host, o.port) = split_address(addr);
    o.db = 0;  // no SELECT in a cluster
    o.name = opt.node.name + " " + addr;
    auto c = std::make_unique<connection>(ex, std::move(o));
    std::weak_ptr<impl> w = weak_from_this();
    c->set_on_connect([w](connection& node) -> asio::awaitable<std::error_code> {
      auto self = w.lock();
      return connected(self, node);
    });
    if (on_push) c->set_push_handler(on_push);
    c->set_on_broken([w] {
      if (auto self = w.lock()) self->refresh_soon();
    });
    auto& ref = *c;
    conns.emplace(addr, std::move(c));
    if (!stopped) ref.start();
    return ref;
  }

  static asio::awaitable<std::error_code> connected(std::shared_ptr<impl> self, connection& node) {
    if (!self) co_return make_error_code(errc::stopped);
    std::error_code ec;
    if (self->on_connect) ec = co_await self->on_connect(node);
    if (!ec) ++self->sessions;
    co_return ec;
  }

  void refresh_soon() {
    if (!stopped) timer.cancel();
  }

  // apply takes a CLUSTER SLOTS reply; false if it is not one.
  bool apply(const reply& r) {
    if (!r.is_array() || r.elements.empty()) return false;
    std::vector<std::string> addrs;
    std::vector<int> own(slot_count, -1);
    for (const auto& range : r.elements) {
      if (!range.is_array() || range.elements.size() < 3) return false;
      auto lo = range.elements[0].as_int(), hi = range.elements[1].as_int();
      const auto& m = range.elements[2];
      if (!lo || !hi || !m.is_array() || m.elements.size() < 2) return false;
      auto host = m.elements[0].str;
      auto port = m.elements[1].as_int();
      if (!port) return false;
      if (host.empty() || host == "?") host = seed_host();
      auto addr = host + ":" + std::to_string(*port);
      auto at = std::find(addrs.begin(), addrs.end(), addr);
      int idx = static_cast<int>(at - addrs.begin());
      if (at == addrs.end()) addrs.push_back(addr);
      for (auto s = std::max(0LL, *lo); s <= std::min<long long>(*hi, slot_count - 1); ++s)
        own[static_cast<std::size_t>(s)] = idx;
    }
    bool changed = !known || addrs != master_addrs || own != owner;
    if (changed && known) {
      ++sessions;  // a slot has another master: it may be another server
      spdlog::info("{}: slot map changed: {} masters", opt.node.name, addrs.size());
    }
    if (changed) ++version;
    master_addrs = std::move(addrs);
    owner = std::move(own);
    known = true;
    why.clear();
    for (const auto& a : master_addrs) conn(a);
    return true;
  }

  // refresh reads the slot map from the first node that answers: masters, then seeds, then
  // any other node known.
  asio::awaitable<bool> refresh() {
    auto self = shared_from_this();
    last_refresh = clock::now();
    std::vector<std::string> order = master_addrs;
    for (const auto& s : opt.seeds) order.push_back(s);
    for (const auto& [a, c] : conns) order.push_back(a);
    command cmd;
    cmd.push("CLUSTER", "SLOTS");
    std::string last_why;
    for (const auto& addr : order) {
      if (stopped) co_return false;
      auto& c = conn(addr);
      if (!c.ready()) {
        last_why = c.why_down();
        continue;
      }
      auto [ec, r] = co_await c.exec(cmd);
      if (!ec && r.size() == 1 && apply(r[0])) co_return true;
      last_why = ec ? ec.message() : (r.empty() ? "no reply" : r[0].str);
    }
    if (!known) why = "no cluster node answered CLUSTER SLOTS: " + last_why;
    co_return false;
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    for (const auto& s : opt.seeds) conn(s);
    while (!stopped) {
      co_await refresh();
      // Quickly while the map is unknown; a redirect or a broken connection cancels the wait.
      // Often while the map is unknown or a master is down (a replica may be promoted).
      timer.expires_after(known && all_up() ? std::chrono::milliseconds(opt.refresh_ms)
                                            : (known ? 200ms : 50ms));
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (stopped) break;
      // At most one refresh per 50 ms, however many redirects come.
      auto since = clock::now() - last_refresh;
      if (since < 50ms) {
        timer.expires_after(50ms - since);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      }
    }
  }

  bool all_up() const {
    for (const auto& a : master_addrs) {
      auto it = conns.find(a);
      if (it == conns.end() || !it->second->ready()) return false;
    }
    return true;
  }

  std::string master_of(int slot) const {
    auto i = owner[static_cast<std::size_t>(slot)];
    return i < 0 ? std::string() : master_addrs[static_cast<std::size_t>(i)];
  }

  // moved records that slot is now served by addr (until the next map says otherwise).
  void moved(int slot, const std::string& addr) {
    auto at = std::find(master_addrs.begin(), master_addrs.end(), addr);
    if (at == master_addrs.end()) {
      master_addrs.push_back(addr);
      at = master_addrs.end() - 1;
      conn(addr);
    }
    owner[static_cast<std::size_t>(slot)] = static_cast<int>(at - master_addrs.begin());
    ++version;
    refresh_soon();
  }
};

cluster::cluster(asio::any_io_executor ex, cluster_options opt)
    : impl_(std::make_shared<impl>(ex, std::move(opt))) {}

cluster::~cluster() {
  stop();
}

void cluster::set_on_connect(on_connect_fn fn) {
  impl_->on_connect = std::move(fn);
}

void cluster::set_push_handler(std::function<void(const reply&)> fn) {
  impl_->on_push = std::move(fn);
}

void cluster::start() {
  util::spawn(impl_->ex, impl_->run(), "redis cluster map");
}

void cluster::stop() {
  auto& i = *impl_;
  if (i.stopped) return;
  i.stopped = true;
  i.timer.cancel();
  for (auto& [a, c] : i.conns) c->stop();
}

bool cluster::ready() const {
  const auto& i = *impl_;
  if (!i.known || i.stopped) return false;
  for (const auto& a : i.master_addrs) {
    auto it = i.conns.find(a);
    if (it == i.conns.end() || !it->second->ready()) return false;
  }
  return true;
}

std::string cluster::why_down() const {
  const auto& i = *impl_;
  if (i.stopped) return "redis cluster client stopped";
  if (!i.known) return i.why;
  std::string out;
  for (const auto& a : i.master_addrs) {
    auto it = i.conns.find(a);
    if (it == i.conns.end() || it->second->ready()) continue;
    if (!out.empty()) out += "; ";
    out += "master " + a + ": " + it->second->why_down();
  }
  return out;
}

std::uint64_t cluster::session() const {
  return impl_->sessions;
}

bool cluster::ready_for(std::string_view key) const {
  const auto& i = *impl_;
  if (!i.known || i.stopped) return false;
  auto it = i.conns.find(i.master_of(slot_of(key)));
  return it != i.conns.end() && it->second->ready();
}

std::uint64_t cluster::session_for(std::string_view key) const {
  const auto& i = *impl_;
  auto addr = i.master_of(slot_of(key));
  auto it = i.conns.find(addr);
  // Another master, or another connection to it: another session.
  return (it == i.conns.end() ? 0 : it->second->session()) ^ (std::hash<std::string>{}(addr) << 16);
}

void cluster::count_into(util::metrics& m) {
  auto counter = [&](std::string_view kind) -> std::uint64_t* {
    return &m.counter("dmq_redis_redirects_total",
                      "Redis Cluster answers followed while the cluster changed: moved (MOVED), "
                      "ask (ASK, with ASKING), busy (TRYAGAIN or CLUSTERDOWN, sent again "
                      "after a pause).",
                      {{"kind", kind}});
  };
  impl_->counts.moved_total = counter("moved");
  impl_->counts.ask_total = counter("ask");
  impl_->counts.busy_total = counter("busy");
}

std::uint64_t cluster::map_version() const {
  return impl_->version;
}

std::string cluster::master_of(int slot) const {
  return impl_->master_of(slot);
}

std::vector<connection*> cluster::masters() {
  std::vector<connection*> out;
  for (const auto& a : impl_->master_addrs) out.push_back(&impl_->conn(a));
  return out;
}

asio::awaitable<bool> cluster::wait_ready(std::chrono::milliseconds bound) {
  auto until = clock::now() + bound;
  asio::steady_timer t(impl_->ex);
  while (!ready() && clock::now() < until && !impl_->stopped) {
    t.expires_after(10ms);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return ready();
}

namespace {

// pipeline_state: one exec() of a cluster, between its rounds (a round sends every unit not
// answered yet; redirected units go again in the next).
struct pipeline_state {
  std::vector<parsed_command> cmds;
  std::vector<unit> units;
  replies out;
  struct route {
    std::string addr;
    bool ask = false;
  };
  std::vector<route> where;
  std::vector<std::size_t> todo;
};

}  // namespace

// route gives every unit of st.todo without an address one: by its slot, or after the unit
// before it; false if a slot has no known master.
static asio::awaitable<bool> route(cluster::impl& i, pipeline_state& st) {
  for (auto u : st.todo) {
    auto& w = st.where[u];
    if (!w.addr.empty()) continue;
    auto slot = st.units[u].slot;
    if (slot >= 0) {
      if (!i.known || i.master_of(slot).empty()) co_await i.refresh();
      w.addr = i.master_of(slot);
    } else if (u > 0) {
      w.addr = st.where[u - 1].addr;
    } else {
      if (!i.known) co_await i.refresh();
      if (!i.master_addrs.empty()) w.addr = i.master_addrs.front();
    }
    if (w.addr.empty()) co_return false;
  }
  co_return true;
}

// send sends units us (in order, ASKING first where asked) to addr in one write and puts
// their replies in st.out.
static asio::awaitable<std::error_code> send(cluster::impl& i, pipeline_state& st,
                                             const std::string& addr,
                                             const std::vector<std::size_t>& us) {
  auto& c = i.conn(addr);
  if (!c.ready()) co_return make_error_code(errc::not_connected);
  std::string bytes;
  std::size_t n = 0;
  for (auto u : us) {
    if (st.where[u].ask) {
      bytes.append(asking);
      ++n;
    }
    for (auto j = st.units[u].first; j <= st.units[u].last; ++j) bytes.append(st.cmds[j].bytes);
    n += st.units[u].last - st.units[u].first + 1;
  }
  command part;
  part.raw(bytes, n);
  auto [ec, rs] = co_await c.exec(part);
  if (ec) co_return ec;
  std::size_t k = 0;
  for (auto u : us) {
    if (st.where[u].ask) ++k;  // ASKING's OK
    for (auto j = st.units[u].first; j <= st.units[u].last; ++j) st.out[j] = std::move(rs[k++]);
  }
  co_return std::error_code{};
}

// next_round returns which units go again: redirected (MOVED: the map learns it; ASK: once,
// with ASKING) or refused while the cluster changes (busy: after a pause), each with the
// keyless units that followed it (a WAIT follows its write).
static std::vector<std::size_t> next_round(cluster::impl& i, pipeline_state& st, bool& busy) {
  std::vector<std::size_t> again;
  busy = false;
  for (auto u : st.todo) {
    const auto& un = st.units[u];
    if (auto r = redirect_in(st.out, un.first, un.last)) {
      auto host = r->host.empty() ? i.seed_host() : std::string(r->host);
      auto addr = host + ":" + std::to_string(r->port);
      if (!r->ask) i.moved(r->slot, addr);
      ++*(r->ask ? i.counts.ask_total : i.counts.moved_total);
      st.where[u] = pipeline_state::route{addr, r->ask};
    } else if (busy_in(st.out, un.first, un.last)) {
      st.where[u] = pipeline_state::route{};
      busy = true;
      ++*i.counts.busy_total;
    } else {
      continue;
    }
    again.push_back(u);
  }
  for (std::size_t k = 0, n = again.size(); k < n; ++k)
    for (auto v = again[k] + 1; v < st.units.size() && st.units[v].slot < 0; ++v)
      if (std::find(again.begin(), again.end(), v) == again.end()) {
        st.where[v] = pipeline_state::route{};
        again.push_back(v);
      }
  std::sort(again.begin(), again.end());
  return again;
}

namespace {

// fan_out: the sends of one round to several masters, made at once; done when all are.
struct fan_out {
  explicit fan_out(asio::any_io_executor ex) : done(ex) {}
  std::size_t left = 0;
  std::error_code ec;  // the first failure
  asio::steady_timer done;
};

}  // namespace

static asio::awaitable<void> send_one(std::shared_ptr<cluster::impl> self, pipeline_state* st,
                                      std::string addr, std::vector<std::size_t> us,
                                      std::shared_ptr<fan_out> f) {
  auto ec = co_await send(*self, *st, addr, us);
  if (ec && !f->ec) f->ec = ec;
  if (--f->left == 0) f->done.cancel();
}

// send_all sends each master its units, to every master at once (one round trip, not one per
// master); st outlives the sends: this waits for all of them.
static asio::awaitable<std::error_code> send_all(
    std::shared_ptr<cluster::impl> self, pipeline_state& st,
    const std::map<std::string, std::vector<std::size_t>>& groups) {
  if (groups.size() == 1)
    co_return co_await send(*self, st, groups.begin()->first, groups.begin()->second);
  auto f = std::make_shared<fan_out>(self->ex);
  f->left = groups.size();
  f->done.expires_at(asio::steady_timer::time_point::max());
  for (const auto& [addr, us] : groups)
    util::spawn(self->ex, send_one(self, &st, addr, us, f), "redis cluster send");
  while (f->left > 0) co_await f->done.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return f->ec;
}

static asio::awaitable<std::error_code> run_rounds(std::shared_ptr<cluster::impl> self,
                                                   pipeline_state& st) {
  auto& i = *self;
  auto busy_until = clock::now() + std::chrono::milliseconds(i.opt.busy_retry_ms);
  int pause_ms = 8;
  for (int round = 0; !st.todo.empty(); ++round) {
    if (!co_await route(i, st)) co_return make_error_code(errc::not_connected);
    std::map<std::string, std::vector<std::size_t>> groups;
    for (auto u : st.todo) groups[st.where[u].addr].push_back(u);
    if (auto ec = co_await send_all(self, st, groups)) co_return ec;
    bool busy = false;
    st.todo = next_round(i, st, busy);
    if (st.todo.empty()) break;
    if (round >= i.opt.max_redirects && !busy) break;  // the errors stay the answers
    if (busy) {
      if (clock::now() >= busy_until) break;
      asio::steady_timer t(i.ex, std::chrono::milliseconds(pause_ms));
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      pause_ms = std::min(pause_ms * 2, 200);
    }
  }
  co_return std::error_code{};
}

asio::awaitable<exec_result> cluster::exec(const command& cmd) {
  if (impl_->stopped) co_return exec_result{make_error_code(errc::stopped), {}};
  auto st = std::make_unique<pipeline_state>();
  auto parsed = parse_pipeline(cmd.bytes());
  if (!parsed) co_return exec_result{make_error_code(errc::protocol), {}};
  st->cmds = std::move(*parsed);
  st->units = units_of(st->cmds);
  st->out.resize(st->cmds.size());
  st->where.resize(st->units.size());
  for (std::size_t u = 0; u < st->units.size(); ++u) st->todo.push_back(u);
  auto ec = co_await run_rounds(impl_, *st);
  if (ec) co_return exec_result{ec, {}};
  co_return exec_result{std::error_code{}, std::move(st->out)};
}

}  // namespace dmq::redis
