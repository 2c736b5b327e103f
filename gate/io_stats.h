// gate/io_stats.h — per-queue request counters and latency histograms.
//
// Thread-safety: written only by the owning queue thread (relaxed load+store, no RMW: one
// writer), read by anyone (relaxed; Snapshot). Each queue's block is on its own cache lines, the
// counters first, then the read and the write histogram (latency_histogram.h: 592 buckets
// each); a request touches the counters' lines and one bucket's line. No line is written by
// anyone else, so the hot path makes no shared write and no atomic read-modify-write.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "blkgate/io_sample.h"
#include "blkgate/latency_histogram.h"

namespace blkgate::io {

struct alignas(64) QueueStats {
  using Counter = std::atomic<std::uint64_t>;
  Counter reads{0}, writes{0}, flushes{0}, discards{0}, write_zeroes{0};
  Counter read_bytes{0}, write_bytes{0};  // of admitted READ and WRITE requests
  Counter refused{0};                     // completed by the gate with an error
  Counter backend_errors{0};              // pieces the backing store failed
  std::atomic<std::uint32_t> parked{0};   // currently parked

  // Latency of admitted READ / WRITE requests, FETCH completion to commit (io_handler.cpp).
  struct alignas(64) Histogram {
    Counter sum_ns{0};
    std::array<Counter, latency::kBuckets> buckets{};
  };
  Histogram read_latency, write_latency;

  static void bump(Counter& c, std::uint64_t n = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  static void record(Histogram& h, std::uint64_t ns) noexcept {
    bump(h.buckets[latency::BucketOf(ns)]);
    bump(h.sum_ns, ns);
  }

  // A copy of every counter, for the control plane (each read relaxed: a request completing
  // meanwhile may be counted in one field and not yet in another).
  QueueIoSample Snapshot() const {
    constexpr auto r = std::memory_order_relaxed;
    QueueIoSample s;
    s.reads = reads.load(r);
    s.writes = writes.load(r);
    s.read_bytes = read_bytes.load(r);
    s.write_bytes = write_bytes.load(r);
    s.flushes = flushes.load(r);
    s.discards = discards.load(r);
    s.write_zeroes = write_zeroes.load(r);
    s.refused = refused.load(r);
    s.backend_errors = backend_errors.load(r);
    s.parked = parked.load(r);
    auto copy = [](const Histogram& h, LatencySample* out) {
      out->sum_ns = h.sum_ns.load(r);
      out->buckets.resize(latency::kBuckets);
      for (std::size_t i = 0; i < latency::kBuckets; ++i) out->buckets[i] = h.buckets[i].load(r);
    };
    copy(read_latency, &s.read_latency);
    copy(write_latency, &s.write_latency);
    return s;
  }
};

}  // namespace blkgate::io
