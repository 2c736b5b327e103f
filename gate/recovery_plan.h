// gate/recovery_plan.h — the decisions of ublk user recovery, as pure functions over facts the
// control ring reported (GET_FEATURES, GET_DEV_INFO, GET_PARAMS), so the unit tests cover every
// case without a kernel (tests/unit/test_recovery.cpp).
//
// Every device blkgate creates is recoverable (UBLK_F_USER_RECOVERY): when the daemon dies the
// kernel keeps the device and quiesces it instead of removing it, and the next daemon takes it
// over (START_USER_RECOVERY, FETCH_REQ on every tag, END_USER_RECOVERY): same /dev/ublkbN, same
// dev_t, mounts and open files untouched. Each device is stamped with its owner (ublksrv_flags,
// which the kernel stores and returns unchanged): a tag derived from the daemon's state
// directory, so a start recognises its own devices and never touches another server's.
//
// Thread-safety: pure functions, any thread.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "blkgate/result.h"

namespace blkgate {

// What requests do while no daemon runs (blkgate --on-crash).
enum class CrashMode : std::uint8_t {
  hold,  // they wait for the next daemon (USER_RECOVERY; + REISSUE: in-flight ones re-issued)
  fail,  // they fail with EIO (USER_RECOVERY + USER_RECOVERY_FAIL_IO, Linux 6.13+)
};
std::string_view ToString(CrashMode m) noexcept;
// "hold" / "fail"; invalid_argument naming them otherwise, *out unchanged then.
Result ParseCrashMode(std::string_view s, CrashMode* out);

// The recovery flags ADD_DEV gets under `mode` on a kernel reporting `features`: hold =
// USER_RECOVERY
// + USER_RECOVERY_REISSUE where the kernel has it; fail = USER_RECOVERY + USER_RECOVERY_FAIL_IO.
// not_supported (saying what is missing and what to use instead) when the kernel cannot.
Result RecoveryFlags(CrashMode mode, std::uint64_t features, std::uint64_t* flags);
// The mode a device's granted flags give it: "hold-reissue", "hold", "fail" or "none".
std::string_view RecoveryModeName(std::uint64_t flags) noexcept;

// The owner stamp of the devices of the daemon whose state directory is `state_dir` (its
// canonical path): a blkgate marker in the high half, a hash of the path in the low half.
std::uint64_t OwnerTag(std::string_view state_dir) noexcept;
// A stamp of any blkgate daemon (ours or another state directory's).
bool IsBlkgateTag(std::uint64_t tag) noexcept;

// One ublk device as the kernel describes it.
struct FoundDevice {
  std::uint32_t dev_id = 0;
  std::uint16_t state = 0;  // ublk::kDev* (dead, live, quiesced, fail-io)
  std::int32_t server_pid = 0;
  bool server_alive = false;  // server_pid > 0 names a process that exists
  std::uint64_t flags = 0;    // UBLK_F_* the kernel granted
  std::uint64_t owner = 0;    // ublksrv_flags: the stamp it was created with
  std::uint16_t queues = 0;
  std::uint16_t depth = 0;
  std::uint64_t size = 0;           // bytes (GET_PARAMS basic.dev_sectors); 0 when unset
  std::uint32_t logical_block = 0;  // bytes; 0 when unset
};

// The device a volume needs, as this daemon would create it.
struct WantedDevice {
  std::uint64_t size = 0;
  std::uint16_t queues = 0;  // what ADD_DEV would grant (clamped to the CPU count)
  std::uint16_t depth = 0;
  std::uint32_t logical_block = 0;
  std::uint64_t owner = 0;  // our OwnerTag
  // This daemon's pid: a device of ours it serves itself was made in this start for another
  // volume (given the lowest free id, which may be one the state recorded for this volume).
  std::int32_t self_pid = 0;
};

enum class DeviceAction : std::uint8_t {
  create,            // no device holds the volume's id: ADD_DEV asking for it
  recover,           // ours, quiesced, same geometry: take it over
  replace,           // ours or a dead server's, and not recoverable: STOP_DEV + DEL_DEV, then
                     // ADD_DEV asking for the id (what was queued on it fails with EIO)
  create_elsewhere,  // another server's device, or one this daemon serves for another
                     // volume: never touched; ADD_DEV with any free id
  wait,              // ours but still LIVE under another pid: the previous daemon is still
                     // exiting; look again
};
std::string_view ToString(DeviceAction a) noexcept;

struct DevicePlan {
  DeviceAction action = DeviceAction::create;
  std::string why;  // for the log: the facts that decided it
};

// What to do with `found` (nullptr: no device has the id), the device at the id the state
// recorded for a volume that needs `want`.
DevicePlan PlanVolumeDevice(const FoundDevice* found, const WantedDevice& want);

// Whether `d`, a device no volume of the state claims (its id is not in `claimed`), is one of
// ours left behind by a crash (between the steps of a create or a delete), to be deleted: stamped
// with `ours` and not served by a live process. Devices of other servers stay. *why for the log.
bool IsOrphanOf(const FoundDevice& d, std::uint64_t ours, const std::set<int>& claimed,
                std::string* why);

}  // namespace blkgate
