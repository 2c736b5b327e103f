// lib/src/io_sample.cpp — I/O samples as JSON (io_sample.h) and the histogram arithmetic of
// latency_histogram.h. Pure; any thread.
#include "blkgate/io_sample.h"

#include <cmath>
#include <string>

namespace blkgate {
namespace latency {

std::uint64_t Quantile(std::span<const std::uint64_t> counts, double q) noexcept {
  std::uint64_t total = 0;
  for (std::uint64_t c : counts) total += c;
  if (total == 0) return 0;
  const double want = std::ceil(q * static_cast<double>(total));
  const std::uint64_t rank = want < 1 ? 1 : static_cast<std::uint64_t>(want);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    seen += counts[i];
    if (seen >= rank) return UpperBound(i) - 1;
  }
  return UpperBound(counts.size() - 1) - 1;
}

std::uint64_t CountBelow(std::span<const std::uint64_t> counts, std::uint64_t bound_ns) noexcept {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < counts.size() && UpperBound(i) <= bound_ns; ++i) n += counts[i];
  return n;
}

}  // namespace latency

namespace {

using Json = nlohmann::json;

constexpr const char* kCounters[] = {"reads",          "writes",   "read_bytes",   "write_bytes",
                                     "flushes",        "discards", "write_zeroes", "refused",
                                     "backend_errors", "parked"};

std::uint64_t* CounterOf(QueueIoSample& q, std::size_t i) {
  std::uint64_t* fields[] = {&q.reads,          &q.writes,   &q.read_bytes,   &q.write_bytes,
                             &q.flushes,        &q.discards, &q.write_zeroes, &q.refused,
                             &q.backend_errors, &q.parked};
  return fields[i];
}

Json LatencyJson(const LatencySample& l) {
  Json buckets = Json::array();
  for (std::size_t i = 0; i < l.buckets.size(); ++i)
    if (l.buckets[i]) buckets.push_back({latency::LowerBound(i), l.buckets[i]});
  return {{"sum_ns", l.sum_ns}, {"buckets", std::move(buckets)}};
}

Result LatencyFromJson(const Json& j, const char* key, LatencySample* out) {
  auto bad = [&](const std::string& why) {
    return Result::InvalidArgument(std::string(key) + ": " + why);
  };
  if (!j.is_object()) return bad("not an object");
  auto sum = j.find("sum_ns");
  auto buckets = j.find("buckets");
  if (sum == j.end() || !sum->is_number_unsigned()) return bad("sum_ns is not a count");
  if (buckets == j.end() || !buckets->is_array()) return bad("buckets is not a list");
  LatencySample l;
  l.sum_ns = sum->get<std::uint64_t>();
  l.buckets.assign(latency::kBuckets, 0);
  for (const Json& b : *buckets) {
    if (!b.is_array() || b.size() != 2 || !b[0].is_number_unsigned() || !b[1].is_number_unsigned())
      return bad("a bucket is not [LOWER_NS, COUNT]");
    const std::uint64_t lower = b[0].get<std::uint64_t>();
    const std::size_t i = latency::BucketOf(lower);
    if (latency::LowerBound(i) != lower)
      return bad(std::to_string(lower) + " is not a bucket's lower bound");
    l.buckets[i] += b[1].get<std::uint64_t>();
  }
  *out = std::move(l);
  return Result::Ok();
}

}  // namespace

nlohmann::json ToJson(const QueueIoSample& q, unsigned queue) {
  Json j = {{"queue", queue}};
  QueueIoSample copy = q;
  for (std::size_t i = 0; i < std::size(kCounters); ++i) j[kCounters[i]] = *CounterOf(copy, i);
  j["read_latency"] = LatencyJson(q.read_latency);
  j["write_latency"] = LatencyJson(q.write_latency);
  return j;
}

Result FromJson(const nlohmann::json& j, QueueIoSample* out) {
  if (!j.is_object()) return Result::InvalidArgument("queue sample is not an object");
  QueueIoSample q;
  for (std::size_t i = 0; i < std::size(kCounters); ++i) {
    auto it = j.find(kCounters[i]);
    if (it == j.end() || !it->is_number_unsigned())
      return Result::InvalidArgument(std::string("queue sample: ") + kCounters[i] +
                                     " is not a count");
    *CounterOf(q, i) = it->get<std::uint64_t>();
  }
  auto rl = j.find("read_latency");
  auto wl = j.find("write_latency");
  if (rl == j.end() || wl == j.end())
    return Result::InvalidArgument("queue sample: read_latency or write_latency missing");
  BLKGATE_TRY(LatencyFromJson(*rl, "read_latency", &q.read_latency));
  BLKGATE_TRY(LatencyFromJson(*wl, "write_latency", &q.write_latency));
  *out = std::move(q);
  return Result::Ok();
}

}  // namespace blkgate
