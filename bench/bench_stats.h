// bench/bench_stats.h — order statistics for the benchmark programs.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace blkgate::bench {

// Median of a copy of v (0 for an empty vector).
template <typename T>
T Median(std::vector<T> v) {
  if (v.empty()) return T{};
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The p-th percentile (0..100) by nearest rank of a copy of v (0 for an empty vector).
template <typename T>
T Percentile(std::vector<T> v, double p) {
  if (v.empty()) return T{};
  std::sort(v.begin(), v.end());
  std::size_t rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size()) + 0.999999);
  if (rank == 0) rank = 1;
  if (rank > v.size()) rank = v.size();
  return v[rank - 1];
}

}  // namespace blkgate::bench
