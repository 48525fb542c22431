// metrics: a process's counters, histograms and gauges, written out in Prometheus's text
// format (version 0.0.4) for GET /metrics. dmq is single-threaded, so a counter is a plain
// integer that the code it counts increments, and a histogram a few of them. Series are
// made while the process starts (their labels come from the configuration); the references
// handed out stay valid for the registry's life. Names and labels: docs/metrics.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dmq::util {

using label_set = std::vector<std::pair<std::string_view, std::string_view>>;

struct histogram {
  std::vector<double> bounds;          // upper bounds, ascending (+Inf implied)
  std::vector<std::uint64_t> buckets;  // observations per bucket, not cumulative; +Inf last
  double sum = 0;
  std::uint64_t count = 0;

  void observe(double v);
};

// latency_buckets: seconds, from 1 ms to 10 s.
inline constexpr double latency_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,  0.5,    1,     2.5,  5,     10};

class metrics {
 public:
  metrics();
  ~metrics();
  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  // counter returns the counter of name with labels, made at the first call.
  std::uint64_t& counter(std::string_view name, std::string_view help,
                         const label_set& labels = {});
  // histo returns the histogram of name with labels, made at the first call.
  histogram& histo(std::string_view name, std::string_view help, std::span<const double> bounds,
                   const label_set& labels = {});
  // gauge adds a series whose value read() gives when the metrics are written.
  void gauge(std::string_view name, std::string_view help, const label_set& labels,
             std::function<double()> read);

  // write appends every series to out, in the order the families were first named.
  void write(std::string& out) const;

 private:
  struct series;
  struct family;
  series& find(std::string_view name, std::string_view help, std::string_view type,
               const label_set& labels);

  std::vector<std::unique_ptr<family>> families_;
};

}  // namespace dmq::util
