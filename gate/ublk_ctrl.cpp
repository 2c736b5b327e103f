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
  ublksrv_ctrl_cmd c = Header(0);
  c.addr = reinterpret_cast<std::uintptr_t>(&f);
  c.len = kFeaturesLen;
  int r = Exec(kCmdGetFeatures, c, nullptr, -1, "GET_FEATURES");
  if (r == -EOPNOTSUPP || r == -EINVAL)
    return Result::NotSupported(
        "ublk GET_FEATURES is not supported: the kernel's ublk driver is too old (need Linux 6.5 "
        "or later)");
  if (r < 0) return CommandError(r, "GET_FEATURES", 0);
  *features = f;
  return Result::Ok();
}

Result UblkControl::AddDev(ublksrv_ctrl_dev_info* info) {
  ublksrv_ctrl_cmd c = Header(info->dev_id);
  c.addr = reinterpret_cast<std::uintptr_t>(info);
  c.len = sizeof *info;
  int r = Exec(kCmdAddDev, c, nullptr, -1, "ADD_DEV");
  return r < 0 ? CommandError(r, "ADD_DEV", info->dev_id) : Result::Ok();
}

Result UblkControl::SetParams(std::uint32_t dev_id, const ublk_params& params) {
  ublk_params p = params;
  ublksrv_ctrl_cmd c = Header(dev_id);
  c.addr = reinterpret_cast<std::uintptr_t>(&p);
  c.len = sizeof p;
  int r = Exec(kCmdSetParams, c, nullptr, -1, "SET_PARAMS");
  return r < 0 ? CommandError(r, "SET_PARAMS", dev_id) : Result::Ok();
}

Result UblkControl::GetParams(std::uint32_t dev_id, ublk_params* params) {
  std::memset(params, 0, sizeof *params);
  params->len = sizeof *params;
  ublksrv_ctrl_cmd c = Header(dev_id);
  c.addr = reinterpret_cast<std::uintptr_t>(params);
  c.len = sizeof *params;
  int r = Exec(kCmdGetParams, c, nullptr, -1, "GET_PARAMS");
  return r < 0 ? CommandError(r, "GET_PARAMS", dev_id) : Result::Ok();
}

Result UblkControl::GetDevInfo(std::uint32_t dev_id, ublksrv_ctrl_dev_info* info) {
  ublksrv_ctrl_cmd c = Header(dev_id);
  c.addr = reinterpret_cast<std::uintptr_t>(info);
  c.len = sizeof *info;
  int r = Exec(kCmdGetDevInfo, c, nullptr, -1, "GET_DEV_INFO");
  return r < 0 ? CommandError(r, "GET_DEV_INFO", dev_id) : Result::Ok();
}

Result UblkControl::StartDev(std::uint32_t dev_id, pid_t server_pid,
                             const std::function<bool()>& abort, int timeout_ms) {
  ublksrv_ctrl_cmd c = Header(dev_id);
  c.data[0] = static_cast<std::uint64_t>(server_pid);
  int r = Exec(kCmdStartDev, c, &abort, timeout_ms, "START_DEV");
  return r < 0 ? CommandError(r, "START_DEV", dev_id) : Result::Ok();
}

Result UblkControl::StartUserRecovery(std::uint32_t dev_id) {
  ublksrv_ctrl_cmd c = Header(dev_id);
  int r = Exec(kCmdStartUserRecovery, c, nullptr, -1, "START_USER_RECOVERY");
  return r < 0 ? CommandError(r, "START_USER_RECOVERY", dev_id) : Result::Ok();
}

Result UblkControl::EndUserRecovery(std::uint32_t dev_id, pid_t server_pid,
                                    const std::function<bool()>& abort, int timeout_ms) {
  ublksrv_ctrl_cmd c = Header(dev_id);
  c.data[0] = static_cast<std::uint64_t>(server_pid);
  int r = Exec(kCmdEndUserRecovery, c, &abort, timeout_ms, "END_USER_RECOVERY");
  return r < 0 ? CommandError(r, "END_USER_RECOVERY", dev_id) : Result::Ok();
}

Result UblkControl::StopDev(std::uint32_t dev_id) {
  ublksrv_ctrl_cmd c = Header(dev_id);
  int r = Exec(kCmdStopDev, c, nullptr, -1, "STOP_DEV");
  return r < 0 ? CommandError(r, "STOP_DEV", dev_id) : Result::Ok();
}

Result UblkControl::DelDev(std::uint32_t dev_id, int timeout_ms) {
  ublksrv_ctrl_cmd c = Header(dev_id);
  int r = Exec(kCmdDelDev, c, nullptr, timeout_ms, "DEL_DEV");
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
