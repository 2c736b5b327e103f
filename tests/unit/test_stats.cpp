// Live statistics: the latency histogram's buckets and percentiles, the report of two samples
// (rates, percentiles of the interval), the iostat-like table and the Prometheus text.
#include <catch2/catch.hpp>
#include <set>
#include <sstream>
#include <string>

#include "blkgate/io_sample.h"
#include "blkgate/latency_histogram.h"
#include "live.h"

using namespace blkgate;
using nlohmann::json;

TEST_CASE("latency histogram: buckets tile the range, each at most 1/16 of its lower bound wide") {
  using namespace latency;
  static_assert(kBuckets == 592);
  static_assert(BucketOf(0) == 0 && BucketOf(15) == 15 && BucketOf(16) == 16 && BucketOf(31) == 31);
  static_assert(BucketOf(32) == 32 && BucketOf(33) == 32 && BucketOf(34) == 33);
  static_assert(BucketOf(~std::uint64_t{0}) == kBuckets - 1);
  static_assert(UpperBound(kBuckets - 1) == std::uint64_t{1} << kMaxExp);
  for (std::size_t i = 0; i < kBuckets; ++i) {
    INFO(i);
    REQUIRE(BucketOf(LowerBound(i)) == i);
    REQUIRE(BucketOf(UpperBound(i) - 1) == i);
    if (i + 1 < kBuckets) REQUIRE(UpperBound(i) == LowerBound(i + 1));
    if (LowerBound(i) >= kSub) REQUIRE((UpperBound(i) - LowerBound(i)) * 16 <= LowerBound(i));
  }
  for (unsigned k = 4; k < kMaxExp; ++k) {  // every power of two is a bucket's lower bound
    INFO(k);
    REQUIRE(LowerBound(BucketOf(std::uint64_t{1} << k)) == std::uint64_t{1} << k);
  }
}

TEST_CASE("latency histogram: quantiles are the upper end of the bucket of the ranked value") {
  using namespace latency;
  std::vector<std::uint64_t> c(kBuckets, 0);
  CHECK(Quantile(c, 0.5) == 0);  // empty
  // 1000 values: 990 of 100 us, 9 of 5 ms, 1 of 2 s.
  c[BucketOf(100000)] = 990;
  c[BucketOf(5000000)] = 9;
  c[BucketOf(2000000000)] = 1;
  const std::uint64_t p50 = Quantile(c, 0.5), p99 = Quantile(c, 0.99), p999 = Quantile(c, 0.999),
                      p100 = Quantile(c, 1.0);
  CHECK(p50 >= 100000);
  CHECK(p50 < 100000 * 17 / 16);
  CHECK(p99 == p50);  // the 990th value is still 100 us
  CHECK(p999 >= 5000000);
  CHECK(p999 < 5000000 * 17 / 16);
  CHECK(p100 >= 2000000000);
  CHECK(Quantile(c, 0.991) == p999);  // the 991st value is the first of 5 ms
  // Exact at bucket bounds: all 990 are below 2^17 ns (131 us), none below 2^16.
  CHECK(CountBelow(c, 1u << 17) == 990);
  CHECK(CountBelow(c, 1u << 16) == 0);
  CHECK(CountBelow(c, std::uint64_t{1} << 40) == 1000);
}

namespace {

// A sample as the daemon sends it: one volume "v0" with the given queues.
json Sample(std::int64_t time_ns, const std::vector<QueueIoSample>& queues) {
  json qs = json::array();
  for (std::size_t i = 0; i < queues.size(); ++i) qs.push_back(ToJson(queues[i], i));
  json v = json::object();
  v["name"] = "v0";
  v["running"] = true;
  v["queues"] = qs;
  json out = json::object();
  out["time_ns"] = time_ns;
  out["volumes"] = json::array();
  out["volumes"].push_back(v);
  return out;
}

QueueIoSample Q(std::uint64_t reads, std::uint64_t writes, std::uint64_t lat_ns) {
  QueueIoSample q;
  q.reads = reads;
  q.writes = writes;
  q.read_bytes = reads * 4096;
  q.write_bytes = writes * 8192;
  q.refused = 3;
  q.parked = 1;
  q.read_latency.buckets.assign(latency::kBuckets, 0);
  q.read_latency.buckets[latency::BucketOf(lat_ns)] = reads;
  q.read_latency.sum_ns = reads * lat_ns;
  q.write_latency.buckets.assign(latency::kBuckets, 0);
  q.write_latency.buckets[latency::BucketOf(2 * lat_ns)] = writes;
  q.write_latency.sum_ns = writes * 2 * lat_ns;
  return q;
}

}  // namespace

TEST_CASE("queue sample: JSON round trip; only non-empty buckets travel; bad buckets refused") {
  const QueueIoSample q = Q(10, 5, 150000);
  const json j = ToJson(q, 3);
  CHECK(j["queue"] == 3);
  CHECK(j["read_latency"]["buckets"].size() == 1);
  QueueIoSample back;
  REQUIRE(FromJson(j, &back).ok());
  CHECK(ToJson(back, 3) == j);
  json bad = j;
  bad["read_latency"]["buckets"] = json::array({json::array({17 * 2 + 1, 1})});  // 35: inside one
  CHECK(FromJson(bad, &back).code() == Code::invalid_argument);
  bad = j;
  bad.erase("refused");
  CHECK(FromJson(bad, &back).code() == Code::invalid_argument);
}

TEST_CASE("stats report: totals since start first, then rates and the interval's percentiles") {
  const json first = Sample(1'000'000'000, {Q(100, 50, 100000), Q(0, 0, 100000)});
  const auto r0 = ctl::StatsReport(nullptr, first);
  CHECK(r0["interval_s"].is_null());
  const auto& t0 = r0["volumes"][0]["total"];
  CHECK(t0["reads"] == 100);
  CHECK(t0["write_bytes"] == 50 * 8192);
  CHECK_FALSE(t0.contains("reads_per_s"));
  CHECK(t0["refused"] == 6);
  // 2 s later: 400 more reads at 1 ms on queue 0, 200 more writes on queue 1.
  QueueIoSample q0 = Q(100, 50, 100000), q1 = Q(0, 200, 1000000);
  q0.reads += 400;
  q0.read_bytes += 400 * 4096;
  q0.read_latency.buckets[latency::BucketOf(1000000)] += 400;
  const json second = Sample(3'000'000'000, {q0, q1});
  const auto r1 = ctl::StatsReport(&first, second);
  CHECK(r1["interval_s"] == 2.0);
  const auto& t1 = r1["volumes"][0]["total"];
  CHECK(t1["reads"] == 400);
  CHECK(t1["reads_per_s"] == 200.0);
  CHECK(t1["read_bytes_per_s"] == 200.0 * 4096);
  CHECK(t1["writes"] == 200);
  CHECK(t1["refused"] == 0);
  CHECK(t1["parked"] == 2);  // a gauge: now, not a difference
  // Percentiles of the interval only: every read in it took 1 ms (the 100 us ones were before).
  CHECK(t1["read_p50_ns"].get<std::uint64_t>() >= 1000000);
  CHECK(t1["read_p50_ns"].get<std::uint64_t>() < 1000000 * 17 / 16);
  CHECK(r1["volumes"][0]["queues"][1]["writes_per_s"] == 100.0);
  // A device that restarted (counters went backwards) counts from 0 again.
  const json restarted = Sample(5'000'000'000, {Q(7, 0, 100000), Q(0, 0, 100000)});
  CHECK(ctl::StatsReport(&second, restarted)["volumes"][0]["total"]["reads"] == 7);
  // The table: a total line and one per queue.
  const std::string table = ctl::StatsTable(r1);
  INFO(table);
  CHECK(table.find("VOLUME  QUEUE  r/s") == 0);
  CHECK(table.find("v0      all    200.0  100.0") != std::string::npos);
  CHECK(table.find("1.02ms") != std::string::npos);  // the upper end of 1 ms's bucket
  CHECK(ctl::StatsTable(r0).find("VOLUME  QUEUE  reads  writes") == 0);
}

TEST_CASE("prometheus: HELP and TYPE for every metric, counters end in _total, a histogram") {
  const json s = Sample(1, {Q(100, 50, 100000), Q(2, 0, 3000)});
  const std::string text = ctl::PrometheusText(s);
  INFO(text);
  std::istringstream in(text);
  std::set<std::string> typed, helped;
  std::string line, last_type;
  int buckets = 0;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      helped.insert(line.substr(7, line.find(' ', 7) - 7));
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      const std::string name = line.substr(7, line.find(' ', 7) - 7);
      last_type = line.substr(line.rfind(' ') + 1);
      typed.insert(name);
      if (last_type == "counter") CHECK(name.size() > 6);
      if (last_type == "counter") CHECK(name.substr(name.size() - 6) == "_total");
      continue;
    }
    // A sample: its family was declared just before (HELP and TYPE).
    std::string family = line.substr(0, line.find('{'));
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      if (last_type == "histogram" && family.size() > std::strlen(suffix) &&
          family.substr(family.size() - std::strlen(suffix)) == suffix)
        family.resize(family.size() - std::strlen(suffix));
    CHECK(typed.count(family));
    CHECK(helped.count(family));
    if (line.find("_bucket{") != std::string::npos) ++buckets;
  }
  CHECK(typed.size() == 12);
  CHECK(text.find("blkgate_reads_total{volume=\"v0\",queue=\"0\"} 100\n") != std::string::npos);
  CHECK(text.find("blkgate_reads_total{volume=\"v0\",queue=\"1\"} 2\n") != std::string::npos);
  CHECK(text.find("blkgate_written_bytes_total{volume=\"v0\",queue=\"0\"} 409600\n") !=
        std::string::npos);
  CHECK(text.find("blkgate_parked_requests{volume=\"v0\",queue=\"1\"} 1\n") != std::string::npos);
  CHECK(buckets == 2 * 26);  // read and write: 25 bounds and +Inf
  // Cumulative: the 2 reads of 3 us are below 2^12 ns (4.096 us), all 102 below 2^17 (131 us).
  CHECK(text.find("blkgate_request_latency_seconds_bucket{volume=\"v0\",op=\"read\",le=\"4.096e-"
                  "06\"} 2\n") != std::string::npos);
  CHECK(text.find("blkgate_request_latency_seconds_bucket{volume=\"v0\",op=\"read\",le=\"0."
                  "000131072\"} 102\n") != std::string::npos);
  CHECK(
      text.find(
          "blkgate_request_latency_seconds_bucket{volume=\"v0\",op=\"read\",le=\"+Inf\"} 102\n") !=
      std::string::npos);
  CHECK(text.find("blkgate_request_latency_seconds_count{volume=\"v0\",op=\"read\"} 102\n") !=
        std::string::npos);
  CHECK(text.find("blkgate_request_latency_seconds_sum{volume=\"v0\",op=\"read\"} 0.010006\n") !=
        std::string::npos);
}

TEST_CASE("stats --json: result first, then the report in its order (a volume's total first)") {
  const json s = Sample(1, {Q(100, 50, 100000), Q(2, 0, 3000)});
  const std::string line = ctl::StatsJsonLine(ctl::StatsReport(nullptr, s));
  INFO(line);
  CHECK(line.rfind("{\"result\":\"ok\",\"message\":\"\",\"interval_s\":null,\"volumes\":[{", 0) ==
        0);
  CHECK(line.find("\"total\":{\"queue\":\"all\",\"reads\":102,") < line.find("\"queues\""));
  CHECK(line.back() == '\n');
}
