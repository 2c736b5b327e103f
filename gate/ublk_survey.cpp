// gate/ublk_survey.cpp — reads what the kernel says of its ublk devices (ublk_survey.h).
// Control-plane threads only; no state of its own.
#include "ublk_survey.h"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "blkgate/unique_fd.h"

namespace blkgate {

namespace {

bool ProcessExists(pid_t pid) {
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

}  // namespace

Result ProbeUblk(std::uint64_t* features) {
  std::unique_ptr<ublk::UblkControl> ctrl;
  BLKGATE_TRY(ublk::UblkControl::Open(&ctrl));
  return ctrl->GetFeatures(features);
}

Result ProbeUblkDevice(ublk::UblkControl& ctrl, std::uint32_t id, FoundDevice* out, bool* exists,
                       std::uint32_t* max_io) {
  ublksrv_ctrl_dev_info info;
  std::memset(&info, 0, sizeof info);
  Result r = ctrl.GetDevInfo(id, &info);
  *exists = r.code() != Code::not_found;
  if (!*exists) return Result::Ok();
  BLKGATE_TRY(r);
  FoundDevice d;
  d.dev_id = id;
  d.state = info.state;
  d.server_pid = info.ublksrv_pid;
  d.server_alive = ProcessExists(info.ublksrv_pid);
  d.flags = info.flags;
  d.owner = info.ublksrv_flags;
  d.queues = info.nr_hw_queues;
  d.depth = info.queue_depth;
  ublk_params p;
  if (ctrl.GetParams(id, &p).ok() && (p.types & UBLK_PARAM_TYPE_BASIC)) {
    d.size = p.basic.dev_sectors << 9;
    d.logical_block = 1u << p.basic.logical_bs_shift;
  }
  if (max_io) *max_io = info.max_io_buf_bytes;
  *out = d;
  return Result::Ok();
}

Result SurveyUblkDevices(std::vector<FoundDevice>* out) {
  out->clear();
  std::unique_ptr<ublk::UblkControl> ctrl;
  BLKGATE_TRY(ublk::UblkControl::Open(&ctrl));
  std::vector<std::uint32_t> ids;
  {
    UniqueDir dir(::opendir("/sys/class/ublk-char"));
    if (!dir)
      return errno == ENOENT ? Result::Ok() : Result::FromErrno(errno, "/sys/class/ublk-char");
    while (dirent* e = ::readdir(dir.get())) {
      unsigned id = 0;
      char tail = 0;
      if (std::sscanf(e->d_name, "ublkc%u%c", &id, &tail) == 1) ids.push_back(id);
    }
  }
  std::sort(ids.begin(), ids.end());
  for (std::uint32_t id : ids) {
    FoundDevice d;
    bool exists = false;
    BLKGATE_TRY(ProbeUblkDevice(*ctrl, id, &d, &exists));
    if (exists) out->push_back(d);
  }
  return Result::Ok();
}

Result RemoveUblkDevice(std::uint32_t dev_id) {
  std::unique_ptr<ublk::UblkControl> ctrl;
  BLKGATE_TRY(ublk::UblkControl::Open(&ctrl));
  BLKGATE_TRY(ctrl->StopDev(dev_id));
  return ctrl->DelDev(dev_id, kDelDevTimeoutMs);
}

}  // namespace blkgate
