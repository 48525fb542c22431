#include "storage/lease.h"

namespace dmq::storage {

boost::asio::awaitable<result<std::vector<bool>>> renew(store& s, std::string_view project,
                                                        std::string_view consumer,
                                                        std::span<const held_lease> leases) {
  std::vector<std::string> args{s.key_names().queue(project, consumer)};
  args.reserve(1 + 4 * leases.size());
  for (const auto& l : leases) {
    args.push_back(std::to_string(l.id));
    args.push_back(std::to_string(l.until_ms));
    args.push_back(std::to_string(l.token));
    args.push_back(std::to_string(l.other));
  }
  auto [ec, r] = co_await s.run_script("renew-1", 1, args);
  std::vector<bool> out;
  if (ec) co_return result<std::vector<bool>>{ec, {}};
  for (const auto& x : r.elements) out.push_back(x.integer == 1);
  if (out.size() != leases.size()) out.resize(leases.size(), false);
  co_return result<std::vector<bool>>{std::error_code{}, std::move(out)};
}

}  // namespace dmq::storage
