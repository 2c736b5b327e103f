// blkgate/gate.h — the lock-free gate between the control plane and the queue threads.
//
// Each volume has one GateWord: a 64-bit effective state the control plane precomputes from the
// volume's, its disk's and its drives' states. A queue thread does exactly one atomic load of it
// per request and decides with decide(); the common case (word == 0) is one compare.
//
// A grace period makes a state change definitive: after publish() + synchronize() returns, every
// queue thread has passed a quiescent point, so no request is still being admitted under the old
// word, and every backing I/O admitted before has completed (inflight drained).
//
// Thread-safety: GateWord::load() and QueueSync's enter/leave/inflight members are called by
// exactly one queue thread each (QueueSync) or any thread (GateWord). publish()/synchronize()
// are control-plane only and may sleep.
#pragma once

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <span>

namespace blkgate::gate {

// ---- the state word -------------------------------------------------------------------------
// bit 0     volume offline (volume or its disk offline): every op -> -ENODEV
// bit 1     read-only (disk read-only): WRITE, DISCARD, WRITE_ZEROES -> -EROFS reported as EIO
// bits 32.. 2 bits per drive of the volume's disk, kMaxSegments of them: DriveBits. Slot i is
//           the drive at position i in the disk (Segment::index), so a request touching
//           segments s..t passes their drives' positions as first..last.
inline constexpr std::uint64_t kOffline = 1u << 0;
inline constexpr std::uint64_t kReadOnly = 1u << 1;
inline constexpr int kSegmentShift = 32;
inline constexpr int kMaxSegments = 16;

enum class DriveBits : std::uint64_t { ok = 0, offline = 1, failed = 2, not_ready = 3 };

constexpr std::uint64_t segment_bits(int segment, DriveBits b) noexcept {
  return static_cast<std::uint64_t>(b) << (kSegmentShift + 2 * segment);
}
constexpr DriveBits segment_status(std::uint64_t word, int segment) noexcept {
  return static_cast<DriveBits>((word >> (kSegmentShift + 2 * segment)) & 3u);
}

// Result of decide(): 0 = admit; kPark = hold the request (drive not ready); else -errno.
inline constexpr int kPark = 1;

enum class OpClass : std::uint8_t { read, write, flush };  // write = WRITE/DISCARD/WRITE_ZEROES

// Decide a request touching segments [first, last] (inclusive; flush passes all segments).
// REQUIRES: 0 <= first <= last < kMaxSegments.
constexpr int decide(std::uint64_t word, OpClass op, int first, int last) noexcept {
  if (word == 0) [[likely]]
    return 0;
  if (word & kOffline) return -ENODEV;
  if ((word & kReadOnly) && op == OpClass::write) return -EROFS;
  int verdict = 0;
  for (int s = first; s <= last; ++s) {
    switch (segment_status(word, s)) {
      case DriveBits::ok:
        break;
      case DriveBits::offline:
        return -ENODEV;
      case DriveBits::failed:
        verdict = -EIO;
        break;
      case DriveBits::not_ready:
        if (verdict == 0) verdict = kPark;
        break;
    }
  }
  return verdict;
}

static_assert(decide(0, OpClass::write, 0, 0) == 0);
static_assert(decide(kOffline, OpClass::read, 0, 0) == -ENODEV);
static_assert(decide(kReadOnly, OpClass::read, 0, 0) == 0);
static_assert(decide(kReadOnly, OpClass::write, 0, 0) == -EROFS);
static_assert(decide(segment_bits(1, DriveBits::failed), OpClass::read, 0, 0) == 0);
static_assert(decide(segment_bits(1, DriveBits::failed), OpClass::read, 0, 1) == -EIO);
static_assert(decide(segment_bits(2, DriveBits::not_ready), OpClass::flush, 0, 3) == kPark);

// One per volume, written by the control plane, read by that volume's queue threads.
struct alignas(64) GateWord {
  std::atomic<std::uint64_t> word{0};
  // seq_cst: pairs with QueueSync::enter() and publish() in the single total order of
  // seq_cst operations (Dekker). On x86 this is a plain load, like acquire.
  std::uint64_t load() const noexcept { return word.load(std::memory_order_seq_cst); }
};

// One per queue thread, on its own cache line: written only by its queue thread.
struct alignas(64) QueueSync {
  std::atomic<std::uint64_t> seq{0};       // odd while the thread is admitting requests
  std::atomic<std::uint32_t> inflight{0};  // backing I/Os admitted and not yet completed

  // Queue thread, after waking and before looking at any request.
  // seq_cst store (not a fence: TSan models it): either synchronize() reads this odd value
  // and waits, or every later GateWord::load() of this batch sees the word it published.
  void enter() noexcept {
    seq.store(seq.load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst);
  }
  // Queue thread, after the batch and before blocking. inflight changes made in the batch are
  // published by this release store.
  void leave() noexcept {
    seq.store(seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }
  void io_started(std::uint32_t n = 1) noexcept {
    inflight.store(inflight.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void io_done(std::uint32_t n = 1) noexcept {
    inflight.store(inflight.load(std::memory_order_relaxed) - n, std::memory_order_release);
  }
};

// Control plane: store a new word for a volume (seq_cst: pairs with QueueSync::enter).
inline void publish(GateWord& g, std::uint64_t word) noexcept {
  g.word.store(word, std::memory_order_seq_cst);
}

// Control plane: wait until every queue in `queues` has been quiescent at least once since the
// call, then until their in-flight backing I/O has drained. Sleeps (with backoff), never spins
// for long. Returns after both conditions hold. Queue threads must be running or stopped.
void synchronize(std::span<QueueSync* const> queues) noexcept;

// Wait for the grace period only (no inflight drain).
void wait_grace_period(std::span<QueueSync* const> queues) noexcept;

}  // namespace blkgate::gate
