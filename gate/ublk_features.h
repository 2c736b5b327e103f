// gate/ublk_features.h — what the running kernel's ublk driver can do (GET_FEATURES, decoded by
// name) and what blkgate makes of it: the data-path mode and the recovery mode its devices get.
// One binary serves every kernel: the choices here depend only on the feature bits, so the unit
// tests cover each kernel's answer (tests/unit/test_ublk_features.cpp), and `blkgate --version`
// and the daemon's start-up log say the same thing.
//
// Thread-safety: pure functions and constant tables, any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "blkgate/model.h"
#include "blkgate/result.h"
#include "recovery_plan.h"

namespace blkgate {

// One UBLK_F_* bit and its name as the kernel's uapi header spells it.
struct UblkFeatureName {
  std::uint64_t bit;
  std::string_view name;
};
// Every bit blkgate knows a name for (Linux 6.1 .. 7.2), in bit order.
std::span<const UblkFeatureName> UblkFeatureTable() noexcept;
// The names of the bits set in `features`, in bit order; a bit without a name is "bit N".
std::vector<std::string> UblkFeatureNames(std::uint64_t features);

// How a device's queue threads move request data.
enum class DataPathMode : std::uint8_t {
  copy,       // FETCH/COMMIT per tag; data copied between the request's pages and a per-tag
              // buffer (the kernel copies; every kernel with ublk)
  zero_copy,  // UBLK_F_AUTO_BUF_REG: the request's pages are a fixed buffer of the queue's ring
  batched,    // UBLK_F_BATCH_IO: many requests per command
};
std::string_view ToString(DataPathMode m) noexcept;

// The data path a new device with `backend` gets on a kernel reporting `features`: zero copy
// for `file` where the kernel has UBLK_F_AUTO_BUF_REG (6.16+), else copy (mem and null always
// copy: their data is in our memory anyway). Batched commands (UBLK_F_BATCH_IO) are reported as
// available but not used.
DataPathMode ChooseDataPath(std::uint64_t features, BackendKind backend) noexcept;
// The UBLK_F_* flags ADD_DEV needs for `mode` (zero copy: AUTO_BUF_REG + SUPPORT_ZERO_COPY, which
// the fallback's manual registration needs), and the mode a device's granted flags give it (a
// recovered device keeps the one it was created with).
std::uint64_t DataPathFlags(DataPathMode mode) noexcept;
DataPathMode DataPathOf(std::uint64_t device_flags) noexcept;

// What this binary would do on this kernel: the facts `blkgate --version` prints.
struct UblkReport {
  bool ublk = false;   // /dev/ublk-control answered GET_FEATURES
  std::string error;   // why not (ublk false)
  std::string kernel;  // uname -r
  std::uint64_t features = 0;
  CrashMode on_crash = CrashMode::hold;
  bool zero_copy = true;       // false: blkgate --data-path copy (every device copies)
  bool fua = true;             // new devices take FUA writes (blkgate --fua)
  std::string recovery;        // RecoveryModeName of the flags new devices get, or ""
  std::string recovery_error;  // why --on-crash cannot be honoured here, or ""
};
// Fills the recovery fields of `r` from its features and on_crash.
void DecideRecovery(UblkReport* r);
// Human-readable, several lines, ends with a newline.
std::string FormatReportText(std::string_view version, const UblkReport& r);
// One JSON object, ends with a newline.
std::string FormatReportJson(std::string_view version, const UblkReport& r);
// One line for the daemon's log at start (features by name, data path per backend, recovery).
std::string FormatReportLog(const UblkReport& r);

}  // namespace blkgate
