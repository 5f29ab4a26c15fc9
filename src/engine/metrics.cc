// Prometheus text for the live figures (see metrics.h).
#include "engine/metrics.h"

#include <fmt/format.h>

#include "engine/live_status.h"

namespace ferry {
namespace {

// A label value: backslash, double quote and line feed escaped (the format's rule).
std::string LabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

class Writer {
 public:
  explicit Writer(const std::string& journal) : labels_("journal=\"" + LabelValue(journal) + "\"") {}

  void Gauge(const char* name, const char* help, double v) { One(name, help, "gauge", v); }
  void Counter(const char* name, const char* help, double v) { One(name, help, "counter", v); }
  // A summary's quantiles, in seconds from microseconds.
  void Quantiles(const char* name, const char* help, double p50_us, double p99_us) {
    Head(name, help, "summary");
    out_ += fmt::format("{}{{{},quantile=\"0.5\"}} {}\n", name, labels_, p50_us / 1e6);
    out_ += fmt::format("{}{{{},quantile=\"0.99\"}} {}\n", name, labels_, p99_us / 1e6);
  }
  std::string Take() { return std::move(out_); }

 private:
  void Head(const char* name, const char* help, const char* type) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void One(const char* name, const char* help, const char* type, double v) {
    Head(name, help, type);
    out_ += fmt::format("{}{{{}}} {}\n", name, labels_, v);
  }
  const std::string labels_;
  std::string out_;
};

}  // namespace

std::string PrometheusMetrics(const LiveStats& st, const std::string& journal) {
  Writer w(journal);
  const auto d = [](uint64_t v) { return static_cast<double>(v); };
  w.Gauge("ferry_volume_bytes", "Size of the volume being migrated.", d(st.volume_size));
  w.Gauge("ferry_present_bytes", "Bytes the destination holds current data for.", d(st.present_bytes));
  w.Gauge("ferry_complete", "1 once every granule is on the destination.", st.complete ? 1 : 0);
  w.Gauge("ferry_paused", "1 while the background copy is paused.", st.paused ? 1 : 0);
  w.Gauge("ferry_uptime_seconds", "Seconds since this run started.", st.seconds);
  w.Counter("ferry_copied_bytes_total", "Bytes read from the source and written to the destination, this run.",
            d(st.bytes_copied));
  w.Counter("ferry_demand_bytes_total", "Bytes copied because a request waited for them, this run.",
            d(st.demand_bytes));
  w.Counter("ferry_predicted_bytes_total", "Bytes queued for copy on the predictor's word, this run.",
            d(st.predicted_bytes));
  w.Counter("ferry_read_through_bytes_total", "Application read bytes answered from the source, this run.",
            d(st.read_through_bytes));
  w.Gauge("ferry_copy_rate_bytes_per_second", "Recent copy rate (background and demand).", st.rate_bps);
  w.Counter("ferry_reads_total", "Application reads, this run.", d(st.reads));
  w.Counter("ferry_read_stalls_total", "Application reads that waited for the source, this run.", d(st.read_stalls));
  w.Counter("ferry_read_stalls_first_touch_total",
            "Reads that waited for granules never accessed before (in the history or this run), this run.",
            d(st.read_stalls_first_touch));
  w.Counter("ferry_read_stalls_seen_total", "Reads that waited for granules accessed before, not yet copied, this run.",
            d(st.read_stalls_seen));
  w.Counter("ferry_reads_kept_total",
            "Reads of missing bytes answered from an earlier read-through's kept answer (no wait), this run.",
            d(st.reads_kept));
  w.Counter("ferry_prevented_stalls_total", "Reads served from granules a prediction brought, this run.",
            d(st.prevented_stalls));
  w.Counter("ferry_writes_total", "Application writes, this run.", d(st.writes));
  w.Counter("ferry_write_stalls_total", "Application writes that waited for a copy, this run.", d(st.write_stalls));
  w.Counter("ferry_copy_errors_total", "Copies that failed after their retries, this run.", d(st.copy_errors));
  w.Counter("ferry_read_errors_total", "Application reads that failed on the source (EIO to the client), this run.",
            d(st.read_errors));
  w.Quantiles("ferry_read_latency_seconds", "Time in ferry of the application's reads, this run.", st.read_p50_us,
              st.read_p99_us);
  w.Quantiles("ferry_missed_read_latency_seconds", "Time in ferry of the reads that waited for the source, this run.",
              st.read_miss_p50_us, st.read_miss_p99_us);
  w.Quantiles("ferry_write_latency_seconds", "Time in ferry of the application's writes, this run.", st.write_p50_us,
              st.write_p99_us);
  w.Quantiles("ferry_waited_write_latency_seconds", "Time in ferry of the writes that waited for a copy, this run.",
              st.write_wait_p50_us, st.write_wait_p99_us);
  w.Counter("ferry_source_outages_total", "Times the source connection was lost, this run.", d(st.source.outages));
  w.Counter("ferry_source_down_seconds_total", "Time without the source, this run (the current outage included).",
            st.source.down_seconds);
  w.Gauge("ferry_source_up", "0 while the source is lost and being reconnected, else 1.",
          st.source.down_now_seconds > 0 ? 0 : 1);
  w.Gauge("ferry_link_base_latency_seconds", "The source link's least round trip, transmission taken out.",
          st.link.base_latency_ms / 1e3);
  w.Gauge("ferry_link_delivery_rate_bytes_per_second", "The source link's measured delivery rate.",
          st.link.delivery_rate);
  w.Gauge("ferry_link_queue_delay_seconds", "Smoothed wait of the application's source reads behind other bytes.",
          st.link.queue_delay_ms / 1e3);
  w.Gauge("ferry_link_latency_target_seconds", "The queueing delay the controller holds copies to.",
          st.link.latency_target_ms / 1e3);
  w.Gauge("ferry_link_in_flight_bytes", "Source read bytes in flight, every kind.", d(st.link.in_flight));
  w.Gauge("ferry_link_copy_in_flight_bytes", "Copy bytes in flight on the source link.", d(st.link.copy_in_flight));
  w.Gauge("ferry_link_budget_bytes", "Copy bytes the controller allows in flight now.", d(st.link.budget));
  w.Gauge("ferry_link_app_active", "1 while the application has waited on the source recently.",
          st.link.app_active ? 1 : 0);
  return w.Take();
}

Status WriteMetrics(const std::string& path, const LiveStats& st, const std::string& journal) {
  return WriteFileAtomically(path, PrometheusMetrics(st, journal), "the metrics file");
}

}  // namespace ferry
