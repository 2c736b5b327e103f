// gate/ublk_ctrl.h — the ublk control ring: synchronous commands to /dev/ublk-control.
//
// Each command is one IORING_OP_URING_CMD on a private SQE128 ring (struct ublksrv_ctrl_cmd
// is 32 bytes, beyond a normal SQE's 16-byte cmd area), ioctl-encoded (UBLK_U_CMD_*). The
// kernel runs control commands in io_uring's worker threads, so START_DEV and STOP_DEV may
// block there for long; the calling thread waits on the ring with a periodic timeout and can
// cancel a command it gives up on (the worker's interruptible wait then returns -EINTR).
//
// Thread-safety: one UblkControl per control-plane caller; never used on a queue thread.
#pragma once

#include <sched.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>

#include "blkgate/result.h"
#include "io_fd.h"
#include "io_ring.h"
#include "ublk_abi.h"

namespace blkgate::ublk {

class UblkControl {
 public:
  // Opens /dev/ublk-control and its ring. not_supported (naming the missing module) when the
  // node doesn't exist; permission_denied / io_error otherwise.
  static Result Open(std::unique_ptr<UblkControl>* out);

  // GET_FEATURES: the UBLK_F_* bits this kernel supports. not_supported on kernels without it
  // (before 6.5: no ioctl-encoded commands either).
  Result GetFeatures(std::uint64_t* features);
  // ADD_DEV. `info` in: nr_hw_queues, queue_depth, max_io_buf_bytes, flags, dev_id (UINT32_MAX
  // for any). Out: what the kernel granted (dev_id; nr_hw_queues is clamped to the CPU count;
  // max_io_buf_bytes rounded down to a page). already_exists when the id is taken.
  Result AddDev(ublksrv_ctrl_dev_info* info);
  Result SetParams(std::uint32_t dev_id, const ublk_params& params);
  // GET_PARAMS: what SET_PARAMS stored (basic, discard), plus the device numbers.
  Result GetParams(std::uint32_t dev_id, ublk_params* params);
  // GET_QUEUE_AFFINITY: the CPUs whose requests blk-mq sends to queue `q_id` of the device.
  Result GetQueueAffinity(std::uint32_t dev_id, std::uint16_t q_id, cpu_set_t* cpus);
  // GET_DEV_INFO. not_found when no device has that id.
  Result GetDevInfo(std::uint32_t dev_id, ublksrv_ctrl_dev_info* info);
  // START_DEV: returns once every tag of every queue has a FETCH_REQ outstanding and the disk
  // was added. Gives up (cancelling the command) when `abort` returns true (polled every
  // 100 ms) or after timeout_ms. REQUIRES: the char device is open in this process.
  Result StartDev(std::uint32_t dev_id, pid_t server_pid, const std::function<bool()>& abort,
                  int timeout_ms);
  // START_USER_RECOVERY: readies a quiesced (or fail-io) recoverable device for a new server.
  // device_in_use (-EBUSY) while the old server's char device is not yet released or the
  // device is not quiesced yet: the caller may retry.
  Result StartUserRecovery(std::uint32_t dev_id);
  // END_USER_RECOVERY: like START_DEV, returns once every tag of every queue has a FETCH_REQ
  // outstanding; then the device is LIVE again with server_pid, and the requests queued while
  // no server ran are dispatched. Gives up like StartDev.
  Result EndUserRecovery(std::uint32_t dev_id, pid_t server_pid, const std::function<bool()>& abort,
                         int timeout_ms);
  // STOP_DEV: removes the disk (in-flight requests complete first: the queue threads must keep
  // serving) and aborts the outstanding FETCH commands with -ENODEV. Waits as long as it takes.
  Result StopDev(std::uint32_t dev_id);
  // DEL_DEV: frees the device once the char device is closed and its mappings gone; gives up
  // waiting after timeout_ms (the kernel then frees it when its last user goes away).
  Result DelDev(std::uint32_t dev_id, int timeout_ms);

 private:
  UblkControl() = default;
  // Runs one command; returns cqe->res, or -ECANCELED if abandoned (abort/timeout < 0: none).
  int Exec(std::uint32_t cmd_op, const ublksrv_ctrl_cmd& cmd, const std::function<bool()>* abort,
           int timeout_ms, const char* name) noexcept;
  // Exec, its failure named (CommandError: already_exists, permission_denied, not_found...).
  Result Run(std::uint32_t cmd_op, const ublksrv_ctrl_cmd& cmd, const char* name,
             const std::function<bool()>* abort = nullptr, int timeout_ms = -1);

  io::UniqueFd fd_;
  io::Ring ring_;
};

}  // namespace blkgate::ublk
