// gate/ublk_survey.h — the ublk devices of this kernel as facts, whoever serves them: the
// feature probe, one device's GET_DEV_INFO + GET_PARAMS, every device under
// /sys/class/ublk-char, and the removal of a device nobody serves. recovery_plan.h decides
// what the facts mean; this file only reads them (and removes what it is told to).
//
// Thread-safety: every function opens its own control handle or uses the caller's; callers
// are the control plane (daemon start, volume_registry, volume_device) and `blkgate --version`.
#pragma once

#include <cstdint>
#include <vector>

#include "blkgate/result.h"
#include "recovery_plan.h"
#include "ublk_ctrl.h"

namespace blkgate {

// DEL_DEV waits this long for the device's last user (an open /dev/ublkbN) to go away.
inline constexpr int kDelDevTimeoutMs = 10000;

// ublk features the running kernel reports (GET_FEATURES), or an error when ublk is absent.
Result ProbeUblk(std::uint64_t* features);

// GET_DEV_INFO and GET_PARAMS of device `id` as facts in *out; *exists false (and *out
// untouched) when no device has the id. *max_io (optional): the device's max_io_buf_bytes.
Result ProbeUblkDevice(ublk::UblkControl& ctrl, std::uint32_t id, FoundDevice* out, bool* exists,
                       std::uint32_t* max_io = nullptr);

// Every ublk device of this kernel (the ids of /sys/class/ublk-char, ascending).
Result SurveyUblkDevices(std::vector<FoundDevice>* out);

// STOP_DEV then DEL_DEV (waiting up to kDelDevTimeoutMs for its last user) of a device nobody
// serves.
Result RemoveUblkDevice(std::uint32_t dev_id);

}  // namespace blkgate
