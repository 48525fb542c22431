// metrics: the registry writes Prometheus's text format: HELP and TYPE once per family,
// labels escaped, histogram buckets cumulative with +Inf, gauges read when written.
#include "util/metrics.h"

#include <gtest/gtest.h>

namespace dmq::util {
namespace {

TEST(metrics, counters_are_written_with_help_type_and_labels_as_integers) {
  metrics m;
  auto& a = m.counter("dmq_x_total", "Things.", {{"path", "/a"}, {"status", "200"}});
  auto& b = m.counter("dmq_x_total", "Things.", {{"path", "/b"}, {"status", "404"}});
  a += 3000000;
  ++b;
  EXPECT_EQ(&m.counter("dmq_x_total", "Things.", {{"path", "/a"}, {"status", "200"}}), &a)
      << "the same labels give the same series";
  std::string out;
  m.write(out);
  EXPECT_EQ(out,
            "# HELP dmq_x_total Things.\n"
            "# TYPE dmq_x_total counter\n"
            "dmq_x_total{path=\"/a\",status=\"200\"} 3000000\n"
            "dmq_x_total{path=\"/b\",status=\"404\"} 1\n");
}

TEST(metrics, label_values_are_escaped) {
  metrics m;
  ++m.counter("dmq_y_total", "Y.", {{"consumer", "a\"b\\c\nd"}});
  std::string out;
  m.write(out);
  EXPECT_NE(out.find(R"(dmq_y_total{consumer="a\"b\\c\nd"} 1)"), std::string::npos) << out;
}

TEST(metrics, histogram_buckets_are_cumulative_and_end_with_inf) {
  metrics m;
  const double bounds[] = {0.01, 0.1, 1};
  auto& h = m.histo("dmq_t_seconds", "T.", bounds, {{"consumer", "c"}});
  // Binary fractions, so the sum is exact; 1.0 sits on a bound and counts in its bucket.
  for (double v : {0.0078125, 0.0625, 0.5, 1.0, 7.0}) h.observe(v);
  std::string out;
  m.write(out);
  EXPECT_EQ(out,
            "# HELP dmq_t_seconds T.\n"
            "# TYPE dmq_t_seconds histogram\n"
            "dmq_t_seconds_bucket{consumer=\"c\",le=\"0.01\"} 1\n"
            "dmq_t_seconds_bucket{consumer=\"c\",le=\"0.1\"} 2\n"
            "dmq_t_seconds_bucket{consumer=\"c\",le=\"1\"} 4\n"
            "dmq_t_seconds_bucket{consumer=\"c\",le=\"+Inf\"} 5\n"
            "dmq_t_seconds_sum{consumer=\"c\"} 8.5703125\n"
            "dmq_t_seconds_count{consumer=\"c\"} 5\n");
}

TEST(metrics, gauges_are_read_when_written_and_unlabelled_series_have_no_braces) {
  metrics m;
  double v = 1;
  m.gauge("dmq_up", "Up.", {}, [&] { return v; });
  std::string first, second;
  m.write(first);
  v = 0;
  m.write(second);
  EXPECT_NE(first.find("\ndmq_up 1\n"), std::string::npos) << first;
  EXPECT_NE(second.find("\ndmq_up 0\n"), std::string::npos) << second;
  EXPECT_NE(first.find("# TYPE dmq_up gauge\n"), std::string::npos);
}

}  // namespace
}  // namespace dmq::util
