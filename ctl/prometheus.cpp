// ctl/prometheus.cpp — `blkgatectl stats --prometheus`: a stats sample in Prometheus' text
// exposition format (0.0.4), for node_exporter's textfile collector. Pure.
//
// Counters (`_total`) per volume and queue, as the daemon counts them since each device
// started; `blkgate_parked_requests` (a gauge) and `blkgate_volume_running`; the latency of
// admitted reads and writes as a histogram per volume and op (queues summed), in seconds, with
// an `le` bound at every power of two nanoseconds from 2^10 (1.024 us) to 2^34 (17.2 s): bounds
// of the daemon's own buckets, so every count is exact.
#include <cstdio>

#include "blkgate/io_sample.h"
#include "blkgate/latency_histogram.h"
#include "live.h"

namespace blkgate::ctl {
namespace {

using nlohmann::json;

// A label value: backslash, double quote and newline escaped.
std::string Label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string Seconds(std::uint64_t ns) {
  char b[64];
  std::snprintf(b, sizeof b, "%.10g", static_cast<double>(ns) / 1e9);
  return b;
}

struct Counter {
  const char* name;
  const char* help;
  std::uint64_t QueueIoSample::*field;
};
constexpr Counter kCounters[] = {
    {"blkgate_reads_total", "READ requests admitted and completed.", &QueueIoSample::reads},
    {"blkgate_writes_total", "WRITE requests admitted and completed.", &QueueIoSample::writes},
    {"blkgate_read_bytes_total", "Bytes of the READ requests counted.", &QueueIoSample::read_bytes},
    {"blkgate_written_bytes_total", "Bytes of the WRITE requests counted.",
     &QueueIoSample::write_bytes},
    {"blkgate_flushes_total", "FLUSH requests admitted and completed.", &QueueIoSample::flushes},
    {"blkgate_discards_total", "DISCARD requests admitted and completed.",
     &QueueIoSample::discards},
    {"blkgate_write_zeroes_total", "WRITE_ZEROES requests admitted and completed.",
     &QueueIoSample::write_zeroes},
    {"blkgate_refused_total",
     "Requests the gate completed with an error without the backing store (offline, "
     "read-only, failed, park timeout).",
     &QueueIoSample::refused},
    {"blkgate_backend_errors_total", "Pieces of requests the backing store failed.",
     &QueueIoSample::backend_errors},
};

}  // namespace

std::string PrometheusText(const json& sample) {
  struct Vol {
    std::string label;
    bool running;
    std::vector<QueueIoSample> queues;
  };
  std::vector<Vol> vols;
  for (const json& v : sample.value("volumes", json::array())) {
    Vol vol{Label(v.value("name", "?")), v.value("running", false), {}};
    for (const json& q : v.value("queues", json::array())) {
      QueueIoSample s;
      if (Result r = FromJson(q, &s); !r.ok()) throw std::runtime_error(r.message());
      vol.queues.push_back(std::move(s));
    }
    vols.push_back(std::move(vol));
  }
  std::string out;
  auto head = [&](const char* name, const char* help, const char* type) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  head("blkgate_volume_running", "1 when the volume's device is served, else 0.", "gauge");
  for (const Vol& v : vols)
    out += "blkgate_volume_running{volume=\"" + v.label + "\"} " + (v.running ? "1" : "0") + "\n";
  for (const Counter& c : kCounters) {
    head(c.name, c.help, "counter");
    for (const Vol& v : vols)
      for (std::size_t q = 0; q < v.queues.size(); ++q)
        out += std::string(c.name) + "{volume=\"" + v.label + "\",queue=\"" + std::to_string(q) +
               "\"} " + std::to_string(v.queues[q].*c.field) + "\n";
  }
  head("blkgate_parked_requests", "Requests held now because a drive is not ready.", "gauge");
  for (const Vol& v : vols)
    for (std::size_t q = 0; q < v.queues.size(); ++q)
      out += "blkgate_parked_requests{volume=\"" + v.label + "\",queue=\"" + std::to_string(q) +
             "\"} " + std::to_string(v.queues[q].parked) + "\n";
  head("blkgate_request_latency_seconds",
       "Latency of admitted READ and WRITE requests, from the daemon taking the request to its "
       "commit.",
       "histogram");
  for (const Vol& v : vols) {
    for (const char* op : {"read", "write"}) {
      LatencySample sum;
      sum.buckets.assign(latency::kBuckets, 0);
      for (const QueueIoSample& q : v.queues) {
        const LatencySample& l = op[0] == 'r' ? q.read_latency : q.write_latency;
        sum.sum_ns += l.sum_ns;
        for (std::size_t i = 0; i < l.buckets.size(); ++i) sum.buckets[i] += l.buckets[i];
      }
      std::uint64_t count = 0;
      for (std::uint64_t c : sum.buckets) count += c;
      const std::string labels = "volume=\"" + v.label + "\",op=\"" + op + "\"";
      for (unsigned k = 10; k <= 34; ++k) {
        const std::uint64_t bound = std::uint64_t{1} << k;
        out += "blkgate_request_latency_seconds_bucket{" + labels + ",le=\"" + Seconds(bound) +
               "\"} " + std::to_string(latency::CountBelow(sum.buckets, bound)) + "\n";
      }
      out += "blkgate_request_latency_seconds_bucket{" + labels + ",le=\"+Inf\"} " +
             std::to_string(count) + "\n";
      out += "blkgate_request_latency_seconds_sum{" + labels + "} " + Seconds(sum.sum_ns) + "\n";
      out +=
          "blkgate_request_latency_seconds_count{" + labels + "} " + std::to_string(count) + "\n";
    }
  }
  return out;
}

}  // namespace blkgate::ctl
