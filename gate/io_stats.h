// gate/io_stats.h — per-queue request counters.
//
// Thread-safety: written only by the owning queue thread (relaxed load+store, no RMW: one
// writer), read by anyone (relaxed). Each queue's block is on its own cache lines.
#pragma once

#include <atomic>
#include <cstdint>

namespace blkgate::io {

struct alignas(64) QueueStats {
  std::atomic<std::uint64_t> reads{0}, writes{0}, flushes{0}, discards{0}, write_zeroes{0};
  std::atomic<std::uint64_t> refused{0};         // completed by the gate with an error
  std::atomic<std::uint64_t> backend_errors{0};  // pieces the backing store failed
  std::atomic<std::uint32_t> parked{0};          // currently parked

  static void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

}  // namespace blkgate::io
