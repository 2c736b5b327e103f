// gate/io_ring.cpp — see io_ring.h.
#include "io_ring.h"

#include <cerrno>
#include <cstring>

namespace blkgate::io {

namespace {
// Older liburing headers may lack the newest setup flags; the values are kernel ABI.
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif
}  // namespace

int Ring::InitQueue(unsigned entries, unsigned cq_entries) noexcept {
  reset();
  const unsigned attempts[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
      IORING_SETUP_COOP_TASKRUN,
      0,
  };
  int err = -EINVAL;
  for (unsigned extra : attempts) {
    io_uring_params p{};
    p.flags = extra | IORING_SETUP_CQSIZE;
    p.cq_entries = cq_entries;
    err = io_uring_queue_init_params(entries, &ring_, &p);
    if (err == 0) {
      valid_ = true;
      flags_ = p.flags;
      return 0;
    }
    if (err != -EINVAL) break;  // EINVAL: this kernel lacks the flag; anything else is real
  }
  return err;
}

int Ring::InitControl(unsigned entries) noexcept {
  reset();
  io_uring_params p{};
  p.flags = IORING_SETUP_SQE128;
  int err = io_uring_queue_init_params(entries, &ring_, &p);
  if (err == 0) {
    valid_ = true;
    flags_ = p.flags;
  }
  return err;
}

void Ring::reset() noexcept {
  if (valid_) io_uring_queue_exit(&ring_);
  valid_ = false;
  flags_ = 0;
  ring_ = io_uring{};
}

io_uring_sqe* GetSqe(io_uring* ring) noexcept {
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  if (sqe) [[likely]]
    return sqe;
  if (io_uring_submit(ring) < 0) return nullptr;
  return io_uring_get_sqe(ring);
}

void PrepUringCmd(io_uring_sqe* sqe, bool sqe128, int fd, bool fixed_file, std::uint32_t cmd_op,
                  std::uint64_t user_data) noexcept {
  std::memset(static_cast<void*>(sqe), 0, sqe128 ? 2 * sizeof(io_uring_sqe) : sizeof(io_uring_sqe));
  sqe->opcode = IORING_OP_URING_CMD;
  sqe->fd = fd;
  if (fixed_file) sqe->flags |= IOSQE_FIXED_FILE;
  sqe->cmd_op = cmd_op;
  sqe->user_data = user_data;
}

}  // namespace blkgate::io
