// gate/io_handler.h — the request handler of one queue: gate check, split, backing I/O.
//
// The same code serves ublk (ublk_queue.cpp feeds it what FETCH_REQ delivers and commits with
// COMMIT_AND_FETCH_REQ) and the in-process source (io_source_mem.h, for tests and benchmarks).
//
//   input:   Submit(IoRequest)   (tag, op, flags, start sector, sectors, buffer)
//   output:  IoCompletionSink::Complete(tag, result), exactly once per submitted request;
//            result = bytes for READ/WRITE (nr_sectors << 9), 0 for FLUSH/DISCARD/WRITE_ZEROES,
//            or -errno.
//   the loop: feeds every CQE to HandleCqe() and calls AfterBatch() once per batch.
//
// Per request the handler does exactly one GateWord load and gate::decide():
//   0        start the backing I/O: one piece per segment touched (a FLUSH: one fdatasync per
//            segment); the request completes when every piece has (first error wins).
//   < 0      complete at once with that errno; nothing reaches the backing store.
//   kPark    hold the tag on the parked list (fixed, indexed by tag). While anything is parked
//            a re-check timer (IORING_OP_TIMEOUT) runs every park_recheck_ms; each re-check
//            admits (decide() == 0), fails (< 0), or fails with -ENODEV past the deadline.
// Backing failures are judged by JudgeBackendError: the request completes with ENOSPC when the
// store's file system is full, else EIO; only a failure of the drive itself calls
// on_backend_error(segment gate index, errno), which marks the drive failed.
// Short reads/writes are retried for the remainder; a zero-byte transfer is an -EIO failure.
// WRITE_ZEROES the store can't do natively falls back to writing zeros; DISCARD the store
// can't do is treated as done (discard is advisory).
//
// Statistics (io_stats.h): counters and, for admitted READ/WRITE, bytes and the latency from
// Submit (the FETCH completion) to the commit (Complete), one clock read at each (MonotonicNs).
//
// Grace periods: the handler calls sync->io_started() for every SQE it queues and io_done()
// for every backing CQE. The loop owns enter()/leave().
//
// Thread-safety: one IoHandler per queue thread; every method on that thread. The per-request
// path allocates nothing and writes only queue-local memory.
#pragma once

#include <linux/time_types.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <functional>
#include <vector>

#include "backend.h"
#include "blkgate/gate.h"
#include "io_layout.h"
#include "io_stats.h"

namespace blkgate::io {

// What a backing I/O that failed with errno `err` means for its request and its drive.
struct BackendFailure {
  int result;         // the request's result (-errno)
  bool drive_failed;  // report the drive (on_backend_error): it is marked failed
};
// ENOSPC, EDQUOT: the store's file system is full (a sparse file, a quota): the request fails
//   with -ENOSPC (the block layer knows no quota status; ENOSPC reaches the caller as ENOSPC),
//   and the drive stays online: freeing space makes writes work again.
// EAGAIN, EINTR, ENOMEM, ENOBUFS: the host is short of something for now: -EIO, drive online.
// Anything else (EIO, EROFS, EBADF...): the drive failed: -EIO, and it is reported.
constexpr BackendFailure JudgeBackendError(int err) noexcept {
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return {-ENOSPC, false};
    case EAGAIN:
    case EINTR:
    case ENOMEM:
    case ENOBUFS:
      return {-EIO, false};
    default:
      return {-EIO, true};
  }
}

struct IoRequest {
  std::uint16_t tag = 0;
  std::uint8_t op = 0;      // UBLK_IO_OP_* (ublk_abi.h kOp*)
  std::uint32_t flags = 0;  // UBLK_IO_F_* >> 8 (ublk_abi.h kIoFlag*)
  std::uint64_t start_sector = 0;
  std::uint32_t nr_sectors = 0;
  void* buf = nullptr;  // nr_sectors * 512 bytes for READ/WRITE (copy)
  // Zero copy: >= 0 when the request's own pages are fixed buffer `buf_index` of the queue's
  // ring (ublk automatic buffer registration); buf is then unused and the backend reads and
  // writes them with fixed-buffer operations at offsets within that buffer.
  int buf_index = -1;
};

class IoCompletionSink {
 public:
  // Called on the queue thread once per request. MUST NOT call IoHandler::Submit (defer it).
  virtual void Complete(std::uint16_t tag, int result) noexcept = 0;

 protected:
  ~IoCompletionSink() = default;
};

struct HandlerConfig {
  const VolumeLayout* layout = nullptr;  // REQUIRED
  Backend* backend = nullptr;            // REQUIRED
  gate::GateWord* gate = nullptr;        // REQUIRED
  gate::QueueSync* sync = nullptr;       // REQUIRED
  QueueStats* stats = nullptr;           // REQUIRED
  std::uint16_t depth = 128;             // tags are 0..depth-1
  std::uint32_t park_timeout_ms = 30000;
  std::uint32_t park_recheck_ms = 5;
  // Optional: backing I/O of segment gate index `i` failed with errno `e`. Must not block.
  const std::function<void(int, int)>* on_backend_error = nullptr;
  // Optional: when true, parked requests fail with -ENODEV at the next re-check.
  const std::atomic<bool>* stopping = nullptr;
};

class IoHandler {
 public:
  // Allocates the per-tag state (control time). `ring` is the queue's ring, used for backing
  // SQEs and the re-check timer; `sink` receives completions.
  IoHandler(const HandlerConfig& cfg, io_uring* ring, IoCompletionSink* sink);
  IoHandler(const IoHandler&) = delete;
  IoHandler& operator=(const IoHandler&) = delete;

  // REQUIRES: r.tag < depth and not in flight; READ/WRITE buffers hold nr_sectors * 512.
  void Submit(const IoRequest& r) noexcept;
  // Consumes CQEs of kinds backend and timeout (returns true); false for any other kind.
  bool HandleCqe(std::uint64_t user_data, int res) noexcept;
  // Once per batch, after the CQEs: re-check parked requests, arm the timer if needed.
  void AfterBatch() noexcept;

  std::uint32_t busy() const noexcept { return busy_; }  // submitted, not completed
  std::uint32_t parked() const noexcept { return nparked_; }
  std::uint32_t backend_inflight() const noexcept { return inflight_; }

 private:
  struct Tag {
    IoRequest req;
    gate::OpClass cls = gate::OpClass::read;
    bool busy = false;
    bool admitted = false;
    std::uint8_t npieces = 0;
    std::uint8_t pending = 0;  // pieces not yet done
    std::int8_t first_gate = 0, last_gate = 0;
    int result = 0;  // first error, else 0
    std::uint16_t park_pos = 0;
    std::uint64_t park_deadline_ns = 0;
    std::uint64_t start_ns = 0;  // MonotonicNs() when submitted: the latency's start
    PieceOp op[kMaxPieces];
    PieceRange piece[kMaxPieces];
  };

  void Start(std::uint16_t tag) noexcept;
  void StartPiece(std::uint16_t tag, std::uint8_t i) noexcept;
  // Account a piece's result. True when the piece must be started again (retry/fallback).
  bool PieceDone(std::uint16_t tag, std::uint8_t i, int res) noexcept;
  // A piece failed with errno err: the request's result (first error wins), and when the store
  // itself answered (from_store), backend_errors and the drive's report (JudgeBackendError).
  void PieceFailed(Tag& t, std::uint8_t i, int err, bool from_store) noexcept;
  void Finish(std::uint16_t tag, int res) noexcept;
  void Park(std::uint16_t tag) noexcept;
  void Unpark(std::uint32_t pos) noexcept;
  void ArmTimer() noexcept;

  HandlerConfig cfg_;
  io_uring* ring_;
  IoCompletionSink* sink_;
  std::vector<Tag> tags_;
  std::vector<std::uint16_t> parked_;
  std::uint32_t nparked_ = 0;
  std::uint32_t busy_ = 0;
  std::uint32_t inflight_ = 0;
  bool timer_armed_ = false;
  __kernel_timespec timer_ts_{};
};

// CLOCK_MONOTONIC in nanoseconds. The latency clock: read through the vDSO (no system call
// where the clocksource is the TSC, ~20 ns), in nanoseconds, never stepped by NTP or settimeofday
// (CLOCK_REALTIME would be; CLOCK_MONOTONIC_COARSE is a jiffy, 1-4 ms: coarser than the latencies
// it would measure; a raw TSC read would need calibration and trust in an invariant TSC).
std::uint64_t MonotonicNs() noexcept;

}  // namespace blkgate::io
