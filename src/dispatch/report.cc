#include "dispatch/report.h"

#include <unistd.h>

#include <array>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>

namespace dmq::dispatch {

std::string report_json(const std::string& id, std::int64_t at_ms, std::int64_t now_s,
                        const std::vector<std::unique_ptr<consumer_worker>>& workers) {
  boost::json::object consumers;
  for (const auto& w : workers) {
    auto t = w->recent().sum(now_s);
    boost::json::array buckets, edges;
    for (auto n : t.lateness) buckets.push_back(n);
    for (auto b : w->recent().bounds()) {
      auto ms = b * 1000;
      // Whole numbers as integers: Boost.JSON writes every double in exponent form (1E0).
      if (ms == std::floor(ms))
        edges.push_back(static_cast<std::int64_t>(ms));
      else
        edges.push_back(ms);
    }
    boost::json::object c;
    c["project"] = w->command().project;
    c["in_flight"] = w->in_flight();
    c["delivered_60s"] = t.done;
    c["failed_60s"] = t.failed;
    c["paused"] = w->paused();
    c["lateness_buckets"] = std::move(buckets);
    c["lateness_edges_ms"] = std::move(edges);
    consumers[w->consumer().name] = std::move(c);
  }
  boost::json::object o;
  o["id"] = id;
  o["at_ms"] = at_ms;
  o["consumers"] = std::move(consumers);
  return boost::json::serialize(o);
}

std::string dispatcher_id() {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  std::string name(host.data());
  if (name.empty()) name = "localhost";
  return name + ":" + std::to_string(::getpid());
}

}  // namespace dmq::dispatch
