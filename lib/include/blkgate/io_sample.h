// blkgate/io_sample.h — one sample of a volume's I/O counters, per queue: what the `stats`
// operation returns and blkgatectl turns into rates, percentiles and Prometheus text.
//
// Counters count since the device started serving in this daemon (a recovered device starts
// from 0). Latency is from the moment the queue thread took the request (its FETCH completion)
// to the moment it queued the commit, admitted READ and WRITE requests only, in a log-linear
// histogram (latency_histogram.h).
//
// Wire form (docs/control-protocol.md, "stats"), one object per queue:
//   {"queue": Q, "reads", "writes", "read_bytes", "write_bytes", "flushes", "discards",
//    "write_zeroes", "refused", "backend_errors", "parked",
//    "read_latency": {"sum_ns": N, "buckets": [[LOWER_NS, COUNT]...]}, "write_latency": ...}
// with only the non-empty buckets, each named by its lower bound in ns.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "blkgate/latency_histogram.h"
#include "blkgate/result.h"

namespace blkgate {

struct LatencySample {
  std::uint64_t sum_ns = 0;
  std::vector<std::uint64_t> buckets;  // latency::kBuckets entries (or empty: all 0)
};

struct QueueIoSample {
  std::uint64_t reads = 0, writes = 0, read_bytes = 0, write_bytes = 0;
  std::uint64_t flushes = 0, discards = 0, write_zeroes = 0;
  std::uint64_t refused = 0, backend_errors = 0, parked = 0;
  LatencySample read_latency, write_latency;
};

nlohmann::json ToJson(const QueueIoSample& q, unsigned queue);
// invalid_argument naming the member when one is missing or mistyped, or a bucket's lower
// bound is not one.
Result FromJson(const nlohmann::json& j, QueueIoSample* out);

}  // namespace blkgate
