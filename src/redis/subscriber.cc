#include "redis/subscriber.h"

#include <spdlog/spdlog.h>

#include <map>

#include "redis/routing.h"
#include "redis/slot.h"
#include "util/spawn.h"

namespace asio = boost::asio;

namespace dmq::redis {

struct subscriber::impl : std::enable_shared_from_this<impl> {
  asio::any_io_executor ex;
  options node;
  const cluster* map = nullptr;
  std::map<std::string, std::unique_ptr<connection>> conns;  // by "host:port"
  std::map<std::string, std::string> at;                     // channel -> where subscribed
  std::vector<std::string> channels;
  message_fn on_message;
  std::function<void()> on_subscribed;
  bool stopped = false;

  void push(const reply& m) {
    if (m.elements[0].str == "sunsubscribe") {  // its slot moved: the next sync subscribes
      at[m.elements[1].str].clear();
      if (!stopped) util::spawn(ex, sync(shared_from_this()), "wake resubscribe");
      return;
    }
    if (on_message) on_message(m.elements[1].str, m.elements[2].str);
  }

  connection& conn(const std::string& addr) {
    auto it = conns.find(addr);
    if (it != conns.end()) return *it->second;
    auto o = node;
    if (map) {  // a cluster's master (the single server's address is node's own)
      std::tie(o.host, o.port) = split_address(addr);
      o.db = 0;
      o.name = node.name + " " + addr;
    }
    auto c = std::make_unique<connection>(ex, std::move(o));
    setup(*c, addr);
    auto& ref = *c;
    conns.emplace(addr, std::move(c));
    if (!stopped) ref.start();
    return ref;
  }

  void setup(connection& c, const std::string& addr) {
    std::weak_ptr<impl> w = weak_from_this();
    c.set_push_handler([w](const reply& m) {
      if (auto self = w.lock()) self->push(m);
    });
    c.set_on_connect([w, addr](connection& on) -> asio::awaitable<std::error_code> {
      return subscribe_on(w.lock(), on, addr);
    });
    c.set_on_broken([w, addr] {
      if (auto self = w.lock())
        for (auto& [ch, where] : self->at)
          if (where == addr) where.clear();
    });
  }

  // subscribe_on runs on each (re)connect: SUBSCRIBE to every channel, or, in a cluster,
  // SSUBSCRIBE to the channels whose slot that master serves.
  static asio::awaitable<std::error_code> subscribe_on(std::shared_ptr<impl> self, connection& c,
                                                       std::string addr) {
    if (!self) co_return make_error_code(errc::stopped);
    command cmd;
    std::vector<std::string> subscribed;
    for (const auto& ch : self->channels) {
      if (!self->map) {
        cmd.push("SUBSCRIBE", ch);  // one reply each
      } else if (self->map->master_of(slot_of(ch)) == addr) {
        cmd.push("SSUBSCRIBE", ch);
        subscribed.push_back(ch);
      }
    }
    std::error_code ec;
    if (cmd.count() > 0) ec = (co_await c.exec(cmd)).first;
    if (ec) co_return ec;
    for (const auto& ch : subscribed) self->at[ch] = addr;
    if (self->on_subscribed) self->on_subscribed();
    co_return std::error_code{};
  }

  // sync subscribes, in a cluster, each channel not subscribed on its master now.
  static asio::awaitable<void> sync(std::shared_ptr<impl> self) {
    if (!self->map || self->stopped) co_return;
    bool any = false;
    for (const auto& ch : self->channels) {
      auto master = self->map->master_of(slot_of(ch));
      if (master.empty() || self->at[ch] == master) continue;
      auto& c = self->conn(master);  // a new one subscribes its channels as it connects
      if (!c.ready()) continue;
      command cmd;
      cmd.push("SSUBSCRIBE", ch);
      auto [ec, r] = co_await c.exec(cmd);
      if (ec || r.empty() || r[0].is_error()) continue;
      self->at[ch] = master;
      any = true;
    }
    if (any && self->on_subscribed) self->on_subscribed();
  }
};

subscriber::subscriber(asio::any_io_executor ex, options node, const cluster* map)
    : impl_(std::make_shared<impl>()) {
  impl_->ex = ex;
  impl_->node = std::move(node);
  impl_->map = map;
}

subscriber::~subscriber() {
  stop();
}

void subscriber::start(std::vector<std::string> channels, message_fn on_message,
                       std::function<void()> on_subscribed) {
  auto& i = *impl_;
  i.channels = std::move(channels);
  i.on_message = std::move(on_message);
  i.on_subscribed = std::move(on_subscribed);
  if (!i.map) {
    i.conn(i.node.host + ":" + std::to_string(i.node.port));
    return;
  }
  util::spawn(i.ex, impl::sync(impl_), "wake subscribe");
}

void subscriber::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  for (auto& [a, c] : impl_->conns) c->stop();
}

asio::awaitable<void> subscriber::ping() {
  auto self = impl_;
  command cmd;
  cmd.push("PING");
  std::vector<connection*> up;
  for (auto& [a, c] : self->conns)
    if (c->ready()) up.push_back(c.get());
  for (auto* c : up) co_await c->exec(cmd);  // a failure breaks that connection itself
  co_await impl::sync(self);
}

}  // namespace dmq::redis
