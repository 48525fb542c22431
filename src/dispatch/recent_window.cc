#include "dispatch/recent_window.h"

#include <algorithm>

namespace dmq::dispatch {

recent_window::recent_window(std::span<const double> bounds)
    : bounds_(bounds.begin(), bounds.end()) {
  for (auto& s : slots_) s.lateness.assign(bounds_.size() + 1, 0);
}

recent_window::slot& recent_window::at(std::int64_t s) {
  auto& x = slots_[static_cast<std::size_t>(((s % seconds) + seconds) % seconds)];
  if (x.second != s) {
    x.second = s;
    x.done = x.failed = 0;
    std::fill(x.lateness.begin(), x.lateness.end(), 0);
  }
  return x;
}

void recent_window::done(std::int64_t now_s) {
  ++at(now_s).done;
}

void recent_window::failed(std::int64_t now_s) {
  ++at(now_s).failed;
}

void recent_window::late(std::int64_t now_s, double lateness_s) {
  auto i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), lateness_s) -
                                    bounds_.begin());  // le: as Prometheus's buckets
  ++at(now_s).lateness[i];
}

recent_window::totals recent_window::sum(std::int64_t now_s) const {
  totals t;
  t.lateness.assign(bounds_.size() + 1, 0);
  for (const auto& s : slots_) {
    if (s.second <= now_s - seconds || s.second > now_s) continue;
    t.done += s.done;
    t.failed += s.failed;
    for (std::size_t i = 0; i < t.lateness.size(); ++i) t.lateness[i] += s.lateness[i];
  }
  return t;
}

}  // namespace dmq::dispatch
