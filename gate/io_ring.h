// gate/io_ring.h — an RAII io_uring and the few SQE helpers liburing 2.3 lacks.
//
// Thread-safety: a Ring belongs to one thread. Queue rings are created with SINGLE_ISSUER (and
// DEFER_TASKRUN when the kernel has it), which binds them to the creating thread: create a
// queue ring on the thread that will use it.
#pragma once

#include <liburing.h>

#include <cstdint>

namespace blkgate::io {

class Ring {
 public:
  Ring() = default;
  ~Ring() { reset(); }
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // A ring for a queue thread: `entries` SQEs, `cq_entries` CQEs. Tries SINGLE_ISSUER +
  // DEFER_TASKRUN (completions run only when this thread waits on the ring, with no IPIs),
  // then COOP_TASKRUN, then no flags. Returns 0 or -errno.
  int InitQueue(unsigned entries, unsigned cq_entries) noexcept;
  // A small SQE128 ring for ublk control commands. Returns 0 or -errno.
  int InitControl(unsigned entries) noexcept;
  void reset() noexcept;

  io_uring* get() noexcept { return &ring_; }
  bool valid() const noexcept { return valid_; }
  // Setup flags the kernel accepted (IORING_SETUP_*).
  unsigned flags() const noexcept { return flags_; }

 private:
  io_uring ring_{};
  bool valid_ = false;
  unsigned flags_ = 0;
};

// A free SQE; when the SQ is full, submits what is queued first. nullptr only when that
// submit fails. The returned SQE is zeroed (all 64 or 128 bytes) except what liburing sets.
io_uring_sqe* GetSqe(io_uring* ring) noexcept;

// Prepare IORING_OP_URING_CMD: zeroes the whole SQE (128 bytes on an SQE128 ring), sets fd
// (a fixed-file index when `fixed_file`), cmd_op and user_data. The caller fills sqe->cmd.
void PrepUringCmd(io_uring_sqe* sqe, bool sqe128, int fd, bool fixed_file, std::uint32_t cmd_op,
                  std::uint64_t user_data) noexcept;

// Where a uring_cmd's payload goes (16 bytes on a 64-byte SQE, 80 on an SQE128 ring).
inline void* SqeCmd(io_uring_sqe* sqe) noexcept {
  return &sqe->addr3;
}

}  // namespace blkgate::io
