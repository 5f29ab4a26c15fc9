// PrometheusMetrics: the text exposition format a textfile collector reads.
#include "engine/metrics.h"

#include <gtest/gtest.h>

#include <sstream>

namespace ferry {
namespace {

TEST(MetricsTest, EachMetricHasHelpTypeAndOneLabelledSample) {
  LiveStats st;
  st.volume_size = 1 << 30;
  st.present_bytes = 1 << 29;
  st.reads = 1000;
  st.read_stalls = 12;
  st.read_p50_us = 40;
  st.read_p99_us = 2500;
  st.source.outages = 2;
  st.source.down_now_seconds = 1.5;
  st.link.base_latency_ms = 2;
  const std::string text = PrometheusMetrics(st, "/var/lib/j");
  std::istringstream in(text);
  std::string line, help_of, type_of;
  int samples = 0;
  while (std::getline(in, line)) {
    ASSERT_FALSE(line.empty());
    if (line.rfind("# HELP ", 0) == 0) {
      help_of = line.substr(7, line.find(' ', 7) - 7);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      type_of = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_EQ(type_of, help_of);
      continue;
    }
    // A sample: NAME{journal="/var/lib/j"[,quantile="Q"]} VALUE, after its TYPE line.
    EXPECT_EQ(line.rfind(type_of + "{journal=\"/var/lib/j\"", 0), 0u) << line;
    ++samples;
  }
  EXPECT_GE(samples, 25);
  EXPECT_NE(text.find("ferry_present_bytes{journal=\"/var/lib/j\"} 536870912\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ferry_read_stalls_total{journal=\"/var/lib/j\"} 12\n"), std::string::npos);
  EXPECT_NE(text.find("ferry_read_latency_seconds{journal=\"/var/lib/j\",quantile=\"0.99\"} 0.0025\n"),
            std::string::npos);
  EXPECT_NE(text.find("ferry_source_up{journal=\"/var/lib/j\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("ferry_link_base_latency_seconds{journal=\"/var/lib/j\"} 0.002\n"), std::string::npos);
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  const std::string text = PrometheusMetrics(LiveStats{}, "a\"b\\c\nd");
  EXPECT_NE(text.find("ferry_reads_total{journal=\"a\\\"b\\\\c\\nd\"} 0\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace ferry
