// cluster_routing: the Redis Cluster client's pure parts (redis/routing.h) on any bytes.
// - parse_pipeline: what it accepts is the input cut into commands, each of which encodes
//   back (redis::command) to its own bytes; units_of then covers every command once, in
//   order, with slots in range. And any commands, encoded by redis::command, parse back
//   to their arguments (the input read as commands split at '\n', arguments at ' ').
// - parse_redirect and split_address: what they accept is in range and views the input.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "redis/reply.h"
#include "redis/routing.h"
#include "redis/slot.h"

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "cluster_routing: %s\n", what);
  std::abort();
}

std::string encode(const std::vector<std::string_view>& args) {
  dmq::redis::command c;
  c.begin(args.size());
  for (auto a : args) c.arg(a);
  return c.bytes();
}

void any_bytes(std::string_view bytes) {
  auto cmds = dmq::redis::parse_pipeline(bytes);
  if (cmds) {
    std::string whole;
    for (const auto& c : *cmds) {
      check(encode(c.args) == c.bytes, "a command does not encode back to its bytes");
      whole.append(c.bytes);
    }
    check(whole == bytes, "the commands are not the input");
    auto units = dmq::redis::units_of(*cmds);
    std::size_t next = 0;
    for (const auto& u : units) {
      check(u.first == next && u.last >= u.first && u.last < cmds->size(), "units leave a gap");
      check(u.slot >= -1 && u.slot < dmq::redis::slot_count, "a slot out of range");
      next = u.last + 1;
    }
    check(next == cmds->size(), "units do not cover every command");
  }
  if (auto r = dmq::redis::parse_redirect(bytes)) {
    check(r->slot >= 0 && r->slot < dmq::redis::slot_count, "a redirect's slot out of range");
    check(r->port > 0 && r->port <= 65535, "a redirect's port out of range");
    check(r->host.data() >= bytes.data() && r->host.data() + r->host.size() <= bytes.end(),
          "a redirect's host is not in the error");
  }
  auto [host, port] = dmq::redis::split_address(bytes);
  check(port >= 0 && port <= 65535, "an address's port out of range");
  check(host.size() <= bytes.size(), "an address's host longer than it");
}

void any_commands(std::string_view bytes) {
  std::vector<std::vector<std::string_view>> want(1);
  std::size_t from = 0;
  for (std::size_t i = 0; i <= bytes.size(); ++i) {
    if (i < bytes.size() && bytes[i] != ' ' && bytes[i] != '\n') continue;
    want.back().push_back(bytes.substr(from, i - from));
    if (i < bytes.size() && bytes[i] == '\n') want.emplace_back();
    from = i + 1;
  }
  std::string pipeline;
  for (const auto& args : want) pipeline += encode(args);
  auto got = dmq::redis::parse_pipeline(pipeline);
  check(got.has_value(), "commands dmq encodes do not parse");
  check(got->size() == want.size(), "not as many commands parsed as encoded");
  for (std::size_t i = 0; i < want.size(); ++i)
    check((*got)[i].args == want[i], "a command's arguments parse back different");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  any_bytes(bytes);
  any_commands(bytes);
  return 0;
}
