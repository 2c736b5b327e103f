// gate/ublk_queue.h — one ublk queue: its thread, its io_uring, its event loop.
//
// The thread uses everything the queue touches per request: a ring created on the thread
// (SINGLE_ISSUER + DEFER_TASKRUN where available) with the ublk char device at fixed slot 0
// and the backing fds after it, the read-only descriptor array mmapped from /dev/ublkcN, and
// the IoHandler. Two data paths:
//   copy       one page-aligned max-I/O buffer per tag (its address goes in FETCH/COMMIT; the
//              kernel copies the data in and out).
//   zero copy  (the device has UBLK_F_AUTO_BUF_REG) no buffers of ours: a sparse fixed-buffer
//              table of 2 x depth entries on the ring; every FETCH/COMMIT asks the kernel to
//              register the next request's own pages at index `tag` (and to unregister them at
//              the commit), and the backend reads and writes them with READ_FIXED/WRITE_FIXED.
//              When that registration fails the kernel still delivers the request, flagged
//              NEED_REG_BUF (we ask for that fallback; the device also has
//              UBLK_F_SUPPORT_ZERO_COPY, which manual registration needs): the queue registers
//              the pages by hand at index depth + tag (REGISTER_IO_BUF), serves the request
//              the same way, and unregisters them (UNREGISTER_IO_BUF, hard-linked before the
//              commit). Logged once per queue. BLKGATE_TEST_ZC_BUSY_EVERY=N (tests only)
//              occupies the index of every Nth tag (0, N, 2N, ...) with a buffer of ours at
//              setup, so those tags always take the fallback. Every Nth rather than a block of
//              low tags: blk-mq starts each CPU's tag search at a random hint, so a short run
//              may never touch a given block, but any N consecutive tags hold one of these.
//
// Loop: submit + wait for >= 1 CQE -> sync.enter() -> every CQE: a ublk command completion
// (a request: hand it to the handler; -ENODEV: the tag is aborted, the device is stopping),
// backing I/O or the park timer (the handler's), or the wake-up eventfd -> handler.AfterBatch()
// -> sync.leave() -> wait again. The handler's completions become COMMIT_AND_FETCH_REQ SQEs,
// submitted with the next wait. The thread exits once every tag was aborted (or an exit was
// requested and no request is in flight, or a leave and only parked ones are) and no backing
// I/O is outstanding, its ring still open: the thread's exit cancels its FETCH commands (after
// STOP_DEV they are already done; otherwise, a leave as a crash, the kernel quiesces the
// recoverable device). Join() then frees the ring, buffers and mappings.
//
// Thread-safety: Start/RequestExit/Join/failed from the control plane. The queue thread takes
// no lock; it reads the GateWord and the `stopping` flag and writes its own QueueSync/Stats.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>

#include "blkgate/result.h"
#include "io_fd.h"
#include "io_handler.h"
#include "thread_priority.h"

namespace blkgate::ublk {

struct UblkQueueConfig {
  int char_fd = -1;  // /dev/ublkcN, open; outlives the queue thread
  std::uint16_t q_id = 0;
  int dev_id = 0;  // for the thread's name, ublk<dev_id>-q<q_id>
  std::uint16_t depth = 0;
  std::uint32_t max_io_bytes = 0;
  bool zero_copy = false;  // the device was created with UBLK_F_AUTO_BUF_REG
  // The queue thread's scheduling class and nice value, applied by the thread itself: a new
  // thread inherits its creator's, and the daemon creates devices from control threads that
  // run at a lower priority.
  ThreadPriority priority;
  // The CPUs the queue thread runs on (queue_cpus.h), set by the thread itself; none: left as
  // inherited.
  std::optional<cpu_set_t> cpus;
  io::HandlerConfig handler;  // layout, backend, gate, sync, stats, park, callbacks, stopping
};

class QueueRunner;

class UblkQueue {
 public:
  explicit UblkQueue(const UblkQueueConfig& cfg);
  ~UblkQueue();
  UblkQueue(const UblkQueue&) = delete;
  UblkQueue& operator=(const UblkQueue&) = delete;

  // Starts the thread and returns once it has a FETCH_REQ submitted for every tag, or the
  // error that stopped it.
  Result Start();
  // The queue thread ended early (setup or a ublk command failure); polled during START_DEV.
  bool failed() const noexcept { return state_.load(std::memory_order_acquire) < 0; }
  // Ask the thread to exit as soon as nothing is in flight (after STOP_DEV). Any thread.
  void RequestExit() noexcept;
  // Ask the thread to exit, for the next daemon to recover the device, as soon as no backing
  // I/O is in flight and every request it still holds is parked (drive not ready): those are
  // left uncommitted, and the kernel re-issues them to the next daemon (USER_RECOVERY_REISSUE).
  // Any thread.
  void RequestLeave() noexcept;
  // Waits for the thread, then frees its ring, buffers and mappings.
  void Join() noexcept;

 private:
  void Run() noexcept;
  int Setup() noexcept;  // on the queue thread; -errno
  void Loop() noexcept;
  void Teardown() noexcept;  // on the queue thread
  void SetState(int s) noexcept;
  void Wake(int exit_mode) noexcept;  // sets exit_mode_ and wakes the thread

  UblkQueueConfig cfg_;
  std::thread thread_;
  // 0 starting, 1 running, 2 exited cleanly, < 0: -errno of the failure.
  std::atomic<int> state_{0};
  // kRun, or how to exit: kExit (nothing held) or kLeave (parked requests may stay held).
  std::atomic<int> exit_mode_{0};
  io::UniqueFd wake_fd_;  // eventfd, created by Start before the thread
  // The thread's ring, buffers and descriptor mapping, made by the thread and freed by Join()
  // after it exited: the thread exits with its ring open, so the kernel cancels whatever
  // FETCH_REQ it still has outstanding as the exiting submitter, exactly as when the daemon is
  // killed (a device left for the next daemon is quiesced by that path, which runs the ring's
  // pending task work first), and the buffers those commands point to stay mapped until then.
  std::unique_ptr<QueueRunner> runner_;
};

}  // namespace blkgate::ublk
