#include "storage/acks.h"

namespace dmq::storage {

namespace {

// ack_args: ack_batch-1's keys and arguments (not in the coroutine: GCC 12).
std::vector<std::string> ack_args(const store& s, std::string_view project,
                                  std::string_view consumer, std::span<const ack_item> items,
                                  int keep) {
  static constexpr const char* names[] = {"done", "retry", "failure", "release"};
  const auto& k = s.key_names();
  std::vector<std::string> args;
  args.reserve(7 + 8 * items.size());
  args.push_back(k.queue(project, consumer));
  args.push_back(k.pending(project, consumer));
  args.push_back(k.base(project));
  args.emplace_back(consumer);
  // as store::ack: failures' pending ids older than the statuses' lifetime may be trimmed
  args.push_back(std::to_string(now_ms() / 1000 - s.status_ttl_ms() / 1000));
  args.push_back(std::to_string(keep));
  args.emplace_back(k.cluster() ? "1" : "");
  for (const auto& i : items) {
    args.push_back(std::to_string(i.id));
    args.push_back(std::to_string(i.lease_until));
    args.push_back(i.other_lease ? std::to_string(i.other_lease) : std::string{});
    args.emplace_back(names[static_cast<int>(i.what)]);
    args.push_back(std::to_string(i.at_ms));
    args.push_back(std::to_string(i.timestamp_s));
    args.emplace_back(i.bucket);
    args.emplace_back(i.history);
  }
  return args;
}

}  // namespace

boost::asio::awaitable<result<std::vector<bool>>> ack_batch(store& s, std::string_view project,
                                                            std::string_view consumer,
                                                            std::span<const ack_item> items,
                                                            int keep) {
  if (items.empty()) co_return result<std::vector<bool>>{std::error_code{}, {}};
  const auto args = ack_args(s, project, consumer, items, keep);
  auto [ec, r] = co_await s.run_script("ack_batch-1", 2, args);
  if (ec) co_return result<std::vector<bool>>{ec, {}};
  if (r.elements.size() != items.size())
    co_return result<std::vector<bool>>{make_error_code(redis::errc::protocol), {}};
  std::vector<bool> out;
  out.reserve(items.size());
  for (const auto& x : r.elements) out.push_back(x.integer == 1);
  co_return result<std::vector<bool>>{std::error_code{}, std::move(out)};
}

}  // namespace dmq::storage
