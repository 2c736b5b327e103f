// blkgate/latency_histogram.h — the bucket scheme of the per-queue latency histograms, and
// percentiles over bucket counts.
//
// Log-linear buckets over nanoseconds, as HdrHistogram's: values below 16 have a bucket each;
// above, every power of two [2^e, 2^(e+1)) is cut into 16 equal buckets, so a bucket is at most
// 1/16 (6.25%) of its lower bound wide. 37 powers of two cover up to 2^40 ns (18 minutes);
// anything longer counts in the last bucket. 592 buckets, 4.6 KiB of counters per histogram.
// Every power of two is a bucket bound, so cumulative counts "<= 2^k ns" (Prometheus' `le`)
// are exact.
//
// The daemon's queue thread is the only writer of its histogram (gate/io_stats.h); this header
// is pure arithmetic, used by the queue thread (BucketOf, constexpr) and by readers.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>

namespace blkgate::latency {

inline constexpr unsigned kSubBits = 4;  // 16 buckets per power of two
inline constexpr unsigned kSub = 1u << kSubBits;
inline constexpr unsigned kMaxExp = 40;  // values >= 2^40 ns share the last bucket
inline constexpr std::size_t kBuckets = (kMaxExp - kSubBits + 1) * kSub;  // 592

// The bucket of a value in ns. Branch-light: one count-leading-zeros and a few shifts.
constexpr std::size_t BucketOf(std::uint64_t ns) noexcept {
  if (ns < kSub) return static_cast<std::size_t>(ns);
  const unsigned e = 63u - static_cast<unsigned>(std::countl_zero(ns));  // 2^e <= ns
  if (e >= kMaxExp) return kBuckets - 1;
  const unsigned shift = e - kSubBits;
  return static_cast<std::size_t>((shift + 1) * kSub + ((ns >> shift) - kSub));
}

// The smallest value of bucket i.
constexpr std::uint64_t LowerBound(std::size_t i) noexcept {
  if (i < kSub) return i;
  const std::uint64_t shift = i / kSub - 1;
  return (kSub + i % kSub) << shift;
}

// One past the largest value of bucket i (the last bucket's is its nominal bound, 2^40).
constexpr std::uint64_t UpperBound(std::size_t i) noexcept {
  if (i < kSub) return i + 1;
  const std::uint64_t shift = i / kSub - 1;
  return LowerBound(i) + (std::uint64_t{1} << shift);
}

// The q-quantile (0 < q <= 1) of the values counted in `counts` (kBuckets entries, or fewer:
// missing ones are 0): the largest value of the bucket holding the ceil(q * total)-th smallest
// value, so the true quantile lies at most one bucket width (6.25%) below it. 0 when empty.
std::uint64_t Quantile(std::span<const std::uint64_t> counts, double q) noexcept;

// Sum of counts[i] for every bucket whose values are all below bound_ns; exact when bound_ns is
// a bucket bound (every power of two is one).
std::uint64_t CountBelow(std::span<const std::uint64_t> counts, std::uint64_t bound_ns) noexcept;

}  // namespace blkgate::latency
