// gate/recovery_plan.cpp — see recovery_plan.h.
#include "recovery_plan.h"

#include <array>

#include "blkgate/enum_names.h"
#include "ublk_abi.h"

namespace blkgate {

namespace {

// "bkgt" in the high half of ublksrv_flags.
constexpr std::uint64_t kTagMagic = 0x626b6774ull << 32;
constexpr std::uint64_t kTagMagicMask = 0xffffffffull << 32;

std::string StateName(std::uint16_t s) {
  switch (s) {
    case ublk::kDevDead:
      return "dead";
    case ublk::kDevLive:
      return "live";
    case ublk::kDevQuiesced:
      return "quiesced";
    case ublk::kDevFailIo:
      return "fail-io";
  }
  return "state " + std::to_string(s);
}

std::string Describe(const FoundDevice& d) {
  return "ublk device " + std::to_string(d.dev_id) + " (" + StateName(d.state) + ", server pid " +
         std::to_string(d.server_pid) + (d.server_alive ? " running" : " gone") + ")";
}

// Why `d` cannot serve `want`; empty when its geometry matches.
std::string GeometryDiffers(const FoundDevice& d, const WantedDevice& want) {
  auto diff = [](const char* what, std::uint64_t has, std::uint64_t wants) {
    return std::string(what) + " " + std::to_string(has) + ", the volume needs " +
           std::to_string(wants);
  };
  if (d.size != want.size) return diff("size", d.size, want.size);
  if (d.logical_block != want.logical_block)
    return diff("logical block size", d.logical_block, want.logical_block);
  if (d.queues != want.queues) return diff("queues", d.queues, want.queues);
  if (d.depth != want.depth) return diff("queue depth", d.depth, want.depth);
  return {};
}

constexpr std::array<std::string_view, 2> kCrashModeNames = {"hold", "fail"};  // by value

bool Recoverable(std::uint16_t state) {
  return state == ublk::kDevQuiesced || state == ublk::kDevFailIo;
}

}  // namespace

std::string_view ToString(CrashMode m) noexcept {
  return NameOf(kCrashModeNames, m);
}

Result ParseCrashMode(std::string_view s, CrashMode* out) {
  return ParseByName(s, kCrashModeNames, "--on-crash", out);
}

Result RecoveryFlags(CrashMode mode, std::uint64_t features, std::uint64_t* flags) {
  if (!(features & ublk::kFeatUserRecovery))
    return Result::NotSupported(
        "the kernel's ublk driver has no user recovery (UBLK_F_USER_RECOVERY)");
  if (mode == CrashMode::fail) {
    if (!(features & ublk::kFeatUserRecoveryFailIo))
      return Result::NotSupported(
          "--on-crash fail needs UBLK_F_USER_RECOVERY_FAIL_IO (Linux 6.13 or later), which this "
          "kernel's ublk driver does not have; use --on-crash hold (requests wait for the next "
          "daemon)");
    *flags = ublk::kFeatUserRecovery | ublk::kFeatUserRecoveryFailIo;
    return Result::Ok();
  }
  *flags = ublk::kFeatUserRecovery | (features & ublk::kFeatUserRecoveryReissue);
  return Result::Ok();
}

std::string_view RecoveryModeName(std::uint64_t flags) noexcept {
  if (!(flags & ublk::kFeatUserRecovery)) return "none";
  if (flags & ublk::kFeatUserRecoveryFailIo) return "fail";
  if (flags & ublk::kFeatUserRecoveryReissue) return "hold-reissue";
  return "hold";
}

std::uint64_t OwnerTag(std::string_view state_dir) noexcept {
  std::uint32_t h = 2166136261u;  // FNV-1a, 32 bits
  for (unsigned char c : state_dir) {
    h ^= c;
    h *= 16777619u;
  }
  return kTagMagic | h;
}

bool IsBlkgateTag(std::uint64_t tag) noexcept {
  return (tag & kTagMagicMask) == kTagMagic;
}

std::string_view ToString(DeviceAction a) noexcept {
  switch (a) {
    case DeviceAction::create:
      return "create";
    case DeviceAction::recover:
      return "recover";
    case DeviceAction::replace:
      return "replace";
    case DeviceAction::create_elsewhere:
      return "create-elsewhere";
    case DeviceAction::wait:
      return "wait";
  }
  return "?";
}

DevicePlan PlanVolumeDevice(const FoundDevice* found, const WantedDevice& want) {
  if (!found) return {DeviceAction::create, "no device has the id"};
  const FoundDevice& d = *found;
  const std::string what = Describe(d);
  if (d.owner == want.owner) {
    if (d.state == ublk::kDevLive && want.self_pid > 0 && d.server_pid == want.self_pid)
      return {DeviceAction::create_elsewhere,
              what + " is ours and served by this daemon: another volume's, made at this start"};
    if (d.state == ublk::kDevLive)
      return {DeviceAction::wait, what + " is ours and still live: its server is exiting"};
    if (Recoverable(d.state)) {
      if (std::string why = GeometryDiffers(d, want); !why.empty())
        return {DeviceAction::replace, what + " is ours but cannot serve the volume: " + why};
      return {DeviceAction::recover, what + " is ours, waiting for a server"};
    }
    return {DeviceAction::replace, what + " is ours and was never started or was stopped"};
  }
  if (IsBlkgateTag(d.owner))
    return {DeviceAction::create_elsewhere,
            what + " belongs to the blkgate daemon of another state directory"};
  // Not stamped by any blkgate: another server's, or one an older blkgate left.
  if (d.state == ublk::kDevDead && !d.server_alive)
    return {DeviceAction::replace, what + " is a dead leftover no server owns"};
  if (Recoverable(d.state))
    return {DeviceAction::create_elsewhere,
            what + " belongs to another ublk server and waits for it to recover"};
  return {DeviceAction::create_elsewhere, what + " belongs to another ublk server"};
}

bool IsOrphanOf(const FoundDevice& d, std::uint64_t ours, const std::set<int>& claimed,
                std::string* why) {
  if (d.owner != ours || claimed.count(static_cast<int>(d.dev_id))) return false;
  if (d.state == ublk::kDevLive && d.server_alive) {
    *why = Describe(d) + " is stamped ours but served by a running process; left alone";
    return false;
  }
  *why = Describe(d) + " is ours but no volume in the state claims it";
  return true;
}

}  // namespace blkgate
