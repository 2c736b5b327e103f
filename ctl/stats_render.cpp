// ctl/stats_render.cpp — `blkgatectl stats`: the report of two samples (rates, latency
// percentiles from the difference of the histograms) and its iostat -x style table. Pure.
#include <algorithm>
#include <cstdio>

#include "blkgate/io_sample.h"
#include "blkgate/latency_histogram.h"
#include "live.h"

namespace blkgate::ctl {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// a - b per field; a field that went backwards means the device restarted: a alone.
std::uint64_t Minus(std::uint64_t a, std::uint64_t b) {
  return a >= b ? a - b : a;
}

LatencySample Minus(const LatencySample& a, const LatencySample& b) {
  LatencySample d = a;
  d.buckets.resize(latency::kBuckets, 0);
  bool restarted = a.sum_ns < b.sum_ns;
  for (std::size_t i = 0; i < b.buckets.size() && !restarted; ++i)
    restarted = a.buckets.size() <= i || a.buckets[i] < b.buckets[i];
  if (restarted) return d;
  d.sum_ns -= b.sum_ns;
  for (std::size_t i = 0; i < b.buckets.size(); ++i) d.buckets[i] -= b.buckets[i];
  return d;
}

QueueIoSample Minus(const QueueIoSample& a, const QueueIoSample& b) {
  if (a.reads < b.reads || a.writes < b.writes || a.refused < b.refused) return a;  // restarted
  QueueIoSample d;
  d.reads = Minus(a.reads, b.reads);
  d.writes = Minus(a.writes, b.writes);
  d.read_bytes = Minus(a.read_bytes, b.read_bytes);
  d.write_bytes = Minus(a.write_bytes, b.write_bytes);
  d.flushes = Minus(a.flushes, b.flushes);
  d.discards = Minus(a.discards, b.discards);
  d.write_zeroes = Minus(a.write_zeroes, b.write_zeroes);
  d.refused = Minus(a.refused, b.refused);
  d.backend_errors = Minus(a.backend_errors, b.backend_errors);
  d.parked = a.parked;  // a gauge: now
  d.read_latency = Minus(a.read_latency, b.read_latency);
  d.write_latency = Minus(a.write_latency, b.write_latency);
  return d;
}

void Add(QueueIoSample* to, const QueueIoSample& q) {
  to->reads += q.reads;
  to->writes += q.writes;
  to->read_bytes += q.read_bytes;
  to->write_bytes += q.write_bytes;
  to->flushes += q.flushes;
  to->discards += q.discards;
  to->write_zeroes += q.write_zeroes;
  to->refused += q.refused;
  to->backend_errors += q.backend_errors;
  to->parked += q.parked;
  for (auto [t, s] : {std::pair{&to->read_latency, &q.read_latency},
                      std::pair{&to->write_latency, &q.write_latency}}) {
    t->sum_ns += s->sum_ns;
    t->buckets.resize(latency::kBuckets, 0);
    for (std::size_t i = 0; i < s->buckets.size(); ++i) t->buckets[i] += s->buckets[i];
  }
}

// The samples of a reply's volume entry, by queue; a malformed entry is the daemon's fault.
std::vector<QueueIoSample> Queues(const json& volume) {
  std::vector<QueueIoSample> out;
  for (const json& q : volume.value("queues", json::array())) {
    QueueIoSample s;
    if (Result r = FromJson(q, &s); !r.ok()) throw std::runtime_error(r.message());
    out.push_back(std::move(s));
  }
  return out;
}

const json* FindVolume(const json* sample, const std::string& name) {
  if (!sample || !sample->is_object()) return nullptr;
  auto vols = sample->find("volumes");
  if (vols == sample->end() || !vols->is_array()) return nullptr;
  for (const json& v : *vols)
    if (v.is_object() && v.value("name", "") == name) return &v;
  return nullptr;
}

ordered_json Row(const json& queue, const QueueIoSample& d, double seconds) {
  ordered_json r;
  r["queue"] = queue;
  r["reads"] = d.reads;
  r["writes"] = d.writes;
  r["read_bytes"] = d.read_bytes;
  r["write_bytes"] = d.write_bytes;
  if (seconds > 0) {
    r["reads_per_s"] = static_cast<double>(d.reads) / seconds;
    r["writes_per_s"] = static_cast<double>(d.writes) / seconds;
    r["read_bytes_per_s"] = static_cast<double>(d.read_bytes) / seconds;
    r["write_bytes_per_s"] = static_cast<double>(d.write_bytes) / seconds;
  }
  for (auto [name, lat] :
       {std::pair{"read", &d.read_latency}, std::pair{"write", &d.write_latency}}) {
    const std::string p(name);
    r[p + "_p50_ns"] = latency::Quantile(lat->buckets, 0.5);
    r[p + "_p99_ns"] = latency::Quantile(lat->buckets, 0.99);
    r[p + "_p999_ns"] = latency::Quantile(lat->buckets, 0.999);
  }
  r["flushes"] = d.flushes;
  r["discards"] = d.discards;
  r["write_zeroes"] = d.write_zeroes;
  r["refused"] = d.refused;
  r["backend_errors"] = d.backend_errors;
  r["parked"] = d.parked;
  return r;
}

std::string Fixed(double v, int decimals) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

// 850ns, 85us, 1.25ms, 2.10s; "-" for none.
std::string Latency(std::uint64_t ns) {
  if (ns == 0) return "-";
  if (ns < 1000) return std::to_string(ns) + "ns";
  if (ns < 1000000) return Fixed(static_cast<double>(ns) / 1e3, ns < 10000 ? 1 : 0) + "us";
  if (ns < 1000000000) return Fixed(static_cast<double>(ns) / 1e6, 2) + "ms";
  return Fixed(static_cast<double>(ns) / 1e9, 2) + "s";
}

std::string Num(const ordered_json& r, const char* key) {
  auto it = r.find(key);
  if (it == r.end()) return "?";
  if (it->is_number_float()) return Fixed(it->get<double>(), 1);
  return std::to_string(it->get<std::uint64_t>());
}

std::string MiB(const ordered_json& r, const char* key) {
  auto it = r.find(key);
  if (it == r.end()) return "?";
  return Fixed(it->get<double>() / (1024.0 * 1024.0), 2);
}

std::string Lat(const ordered_json& r, const char* key) {
  auto it = r.find(key);
  return it == r.end() ? "?" : Latency(it->get<std::uint64_t>());
}

}  // namespace

ordered_json StatsReport(const json* prev, const json& now) {
  double seconds = 0;
  if (prev) {
    const auto t0 = prev->value("time_ns", std::int64_t{0});
    const auto t1 = now.value("time_ns", std::int64_t{0});
    if (t1 > t0) seconds = static_cast<double>(t1 - t0) / 1e9;
  }
  ordered_json report;
  report["interval_s"] = seconds > 0 ? ordered_json(seconds) : ordered_json(nullptr);
  ordered_json vols = ordered_json::array();
  for (const json& v : now.value("volumes", json::array())) {
    const std::string name = v.value("name", "?");
    const std::vector<QueueIoSample> qs = Queues(v);
    const json* pv = seconds > 0 ? FindVolume(prev, name) : nullptr;
    const std::vector<QueueIoSample> ps = pv ? Queues(*pv) : std::vector<QueueIoSample>{};
    ordered_json rows = ordered_json::array();
    QueueIoSample total;
    for (std::size_t q = 0; q < qs.size(); ++q) {
      const QueueIoSample d = q < ps.size() ? Minus(qs[q], ps[q]) : qs[q];
      Add(&total, d);
      rows.push_back(Row(q, d, pv ? seconds : 0));
    }
    ordered_json vo;
    vo["name"] = name;
    vo["running"] = v.value("running", false);
    vo["total"] = Row("all", total, pv ? seconds : 0);
    vo["queues"] = std::move(rows);
    vols.push_back(std::move(vo));
  }
  report["volumes"] = std::move(vols);
  return report;
}

std::string StatsJsonLine(const ordered_json& report) {
  ordered_json o;
  o["result"] = "ok";
  o["message"] = "";
  for (const auto& [k, v] : report.items()) o[k] = v;
  return o.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string StatsTable(const ordered_json& report) {
  const bool rates = report.contains("interval_s") && !report["interval_s"].is_null();
  std::vector<std::string> header =
      rates ? std::vector<std::string>{"VOLUME", "QUEUE", "r/s", "w/s", "rMiB/s", "wMiB/s"}
            : std::vector<std::string>{"VOLUME", "QUEUE", "reads", "writes", "rMiB", "wMiB"};
  for (const char* h :
       {"r_p50", "r_p99", "r_p99.9", "w_p50", "w_p99", "w_p99.9", "refused", "parked"})
    header.emplace_back(h);
  std::vector<std::vector<std::string>> rows;
  auto add = [&](const std::string& vol, const ordered_json& r) {
    std::vector<std::string> row = {vol, r["queue"].is_string()
                                             ? r["queue"].get<std::string>()
                                             : std::to_string(r["queue"].get<unsigned>())};
    if (rates) {
      row.insert(row.end(), {Num(r, "reads_per_s"), Num(r, "writes_per_s"),
                             MiB(r, "read_bytes_per_s"), MiB(r, "write_bytes_per_s")});
    } else {
      ordered_json bytes = {{"r", static_cast<double>(r["read_bytes"].get<std::uint64_t>())},
                            {"w", static_cast<double>(r["write_bytes"].get<std::uint64_t>())}};
      row.insert(row.end(), {Num(r, "reads"), Num(r, "writes"), MiB(bytes, "r"), MiB(bytes, "w")});
    }
    for (const char* k : {"read_p50_ns", "read_p99_ns", "read_p999_ns", "write_p50_ns",
                          "write_p99_ns", "write_p999_ns"})
      row.push_back(Lat(r, k));
    row.push_back(Num(r, "refused"));
    row.push_back(Num(r, "parked"));
    rows.push_back(std::move(row));
  };
  for (const ordered_json& v : report["volumes"]) {
    const std::string name = v["name"].get<std::string>();
    if (!v["running"].get<bool>()) {
      rows.push_back({name, "-", "(not running)"});
      continue;
    }
    add(name, v["total"]);
    if (v["queues"].size() > 1)
      for (const ordered_json& q : v["queues"]) add(name, q);
  }
  return Table(header, rows);
}

}  // namespace blkgate::ctl
