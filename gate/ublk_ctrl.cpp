// gate/ublk_ctrl.cpp — see ublk_ctrl.h.
#include "ublk_ctrl.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "io_log.h"

namespace blkgate::ublk {

namespace {
constexpr const char* kControlPath = "/dev/ublk-control";
constexpr std::uint64_t kUdCommand = 1;
constexpr std::uint64_t kUdCancel = 2;
constexpr int kPollMs = 100;

ublksrv_ctrl_cmd Header(std::uint32_t dev_id) {
  ublksrv_ctrl_cmd c;
  std::memset(&c, 0, sizeof c);
  c.dev_id = dev_id;
  c.queue_id = 0xffff;  // not a per-queue command
  return c;
}

// A command whose payload is one buffer of the caller's.
ublksrv_ctrl_cmd WithBuffer(std::uint32_t dev_id, void* buf, std::size_t len) {
  ublksrv_ctrl_cmd c = Header(dev_id);
  c.addr = reinterpret_cast<std::uintptr_t>(buf);
  c.len = static_cast<decltype(c.len)>(len);
  return c;
}

// A command whose one argument is the server's pid (START_DEV, END_USER_RECOVERY).
ublksrv_ctrl_cmd WithPid(std::uint32_t dev_id, pid_t server_pid) {
  ublksrv_ctrl_cmd c = Header(dev_id);
  c.data[0] = static_cast<std::uint64_t>(server_pid);
  return c;
}

Result CommandError(int res, const char* name, std::uint32_t dev_id) {
  std::string what = std::string("ublk ") + name + " (device " +
                     (dev_id == UINT32_MAX ? std::string("any") : std::to_string(dev_id)) + ")";
  if (res == -EEXIST) return Result::AlreadyExists(what + ": " + std::strerror(EEXIST));
  if (res == -EPERM || res == -EACCES)
    return Result::PermissionDenied(what + ": " + std::strerror(-res));
  if (res == -ECANCELED) return Result::IoError(what + ": gave up waiting");
  if (res == -ENODEV) return Result::NotFound(what + ": no such device");
  return Result::FromErrno(-res, what);
}
}  // namespace

Result UblkControl::Open(std::unique_ptr<UblkControl>* out) {
  std::unique_ptr<UblkControl> c(new UblkControl());
  int fd = ::open(kControlPath, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT)
      return Result::NotSupported(std::string("ublk is not available: ") + kControlPath + ": " +
                                  std::strerror(err) + "; load ublk_drv");
    if (err == EACCES || err == EPERM)
      return Result::PermissionDenied(std::string(kControlPath) + ": " + std::strerror(err));
    return Result::FromErrno(err, kControlPath);
  }
  c->fd_.reset(fd);
  int r = c->ring_.InitControl(4);
  if (r < 0) return Result::FromErrno(-r, "ublk control ring");
  *out = std::move(c);
  return Result::Ok();
}

int UblkControl::Exec(std::uint32_t cmd_op, const ublksrv_ctrl_cmd& cmd,
                      const std::function<bool()>* abort, int timeout_ms,
                      const char* name) noexcept {
  io_uring* ring = ring_.get();
  io_uring_sqe* sqe = io::GetSqe(ring);
  if (!sqe) return -EBUSY;
  io::PrepUringCmd(sqe, true, fd_.get(), false, cmd_op, kUdCommand);
  std::memcpy(io::SqeCmd(sqe), &cmd, sizeof cmd);
  int r = io_uring_submit(ring);
  if (r < 0) return r;

  int waited_ms = 0;
  bool cancelled = false;
  for (;;) {
    __kernel_timespec ts{0, kPollMs * 1000000LL};
    io_uring_cqe* cqe = nullptr;
    r = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
    if (r == 0 && cqe) {
      const std::uint64_t ud = cqe->user_data;
      const int res = cqe->res;
      io_uring_cqe_seen(ring, cqe);
      if (ud == kUdCommand) return cancelled && res == -EINTR ? -ECANCELED : res;
      continue;  // the cancel request's own completion
    }
    if (r != -ETIME && r != -EINTR) return r;
    waited_ms += kPollMs;
    if (cancelled) continue;
    const bool give_up =
        (abort && *abort && (*abort)()) || (timeout_ms >= 0 && waited_ms >= timeout_ms);
    if (give_up) {
      io_uring_sqe* c = io::GetSqe(ring);
      if (!c) return -EBUSY;
      io_uring_prep_cancel64(c, kUdCommand, 0);
      io_uring_sqe_set_data64(c, kUdCancel);
      io_uring_submit(ring);
      cancelled = true;
    } else if (waited_ms % 10000 == 0) {
      io::LogLine("ublk %s still waiting after %d s", name, waited_ms / 1000);
    }
  }
}

Result UblkControl::GetFeatures(std::uint64_t* features) {
  std::uint64_t f = 0;
  int r = Exec(kCmdGetFeatures, WithBuffer(0, &f, kFeaturesLen), nullptr, -1, "GET_FEATURES");
  if (r == -EOPNOTSUPP || r == -EINVAL)
    return Result::NotSupported(
        "ublk GET_FEATURES is not supported: the kernel's ublk driver is too old (need Linux 6.5 "
        "or later)");
  if (r < 0) return CommandError(r, "GET_FEATURES", 0);
  *features = f;
  return Result::Ok();
}

Result UblkControl::Run(std::uint32_t cmd_op, const ublksrv_ctrl_cmd& cmd, const char* name,
                        const std::function<bool()>* abort, int timeout_ms) {
  const int r = Exec(cmd_op, cmd, abort, timeout_ms, name);
  return r < 0 ? CommandError(r, name, cmd.dev_id) : Result::Ok();
}

Result UblkControl::AddDev(ublksrv_ctrl_dev_info* info) {
  return Run(kCmdAddDev, WithBuffer(info->dev_id, info, sizeof *info), "ADD_DEV");
}

Result UblkControl::SetParams(std::uint32_t dev_id, const ublk_params& params) {
  ublk_params p = params;
  return Run(kCmdSetParams, WithBuffer(dev_id, &p, sizeof p), "SET_PARAMS");
}

Result UblkControl::GetParams(std::uint32_t dev_id, ublk_params* params) {
  std::memset(params, 0, sizeof *params);
  params->len = sizeof *params;
  return Run(kCmdGetParams, WithBuffer(dev_id, params, sizeof *params), "GET_PARAMS");
}

Result UblkControl::GetQueueAffinity(std::uint32_t dev_id, std::uint16_t q_id, cpu_set_t* cpus) {
  CPU_ZERO(cpus);
  ublksrv_ctrl_cmd c = WithBuffer(dev_id, cpus, sizeof *cpus);
  c.data[0] = q_id;
  return Run(kCmdGetQueueAffinity, c, "GET_QUEUE_AFFINITY");
}

Result UblkControl::GetDevInfo(std::uint32_t dev_id, ublksrv_ctrl_dev_info* info) {
  return Run(kCmdGetDevInfo, WithBuffer(dev_id, info, sizeof *info), "GET_DEV_INFO");
}

Result UblkControl::StartDev(std::uint32_t dev_id, pid_t server_pid,
                             const std::function<bool()>& abort, int timeout_ms) {
  return Run(kCmdStartDev, WithPid(dev_id, server_pid), "START_DEV", &abort, timeout_ms);
}

Result UblkControl::StartUserRecovery(std::uint32_t dev_id) {
  return Run(kCmdStartUserRecovery, Header(dev_id), "START_USER_RECOVERY");
}

Result UblkControl::EndUserRecovery(std::uint32_t dev_id, pid_t server_pid,
                                    const std::function<bool()>& abort, int timeout_ms) {
  return Run(kCmdEndUserRecovery, WithPid(dev_id, server_pid), "END_USER_RECOVERY", &abort,
             timeout_ms);
}

Result UblkControl::StopDev(std::uint32_t dev_id) {
  return Run(kCmdStopDev, Header(dev_id), "STOP_DEV");
}

Result UblkControl::DelDev(std::uint32_t dev_id, int timeout_ms) {
  int r = Exec(kCmdDelDev, Header(dev_id), nullptr, timeout_ms, "DEL_DEV");
  if (r == -ECANCELED) {
    io::LogLine(
        "ublk device %u: DEL_DEV still waiting for its last user after %d ms; the kernel "
        "frees it when that user goes away",
        dev_id, timeout_ms);
    return Result::Ok();
  }
  return r < 0 ? CommandError(r, "DEL_DEV", dev_id) : Result::Ok();
}

}  // namespace blkgate::ublk
