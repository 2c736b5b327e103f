// gate/ublk_features.cpp — see ublk_features.h.
#include "ublk_features.h"

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "ublk_abi.h"

namespace blkgate {

namespace {

// Names from the kernel's include/uapi/linux/ublk_cmd.h (Linux 7.2).
constexpr std::array<UblkFeatureName, 20> kNames{{
    {ublk::kFeatSupportZeroCopy, "UBLK_F_SUPPORT_ZERO_COPY"},
    {ublk::kFeatUringCmdCompInTask, "UBLK_F_URING_CMD_COMP_IN_TASK"},
    {ublk::kFeatNeedGetData, "UBLK_F_NEED_GET_DATA"},
    {ublk::kFeatUserRecovery, "UBLK_F_USER_RECOVERY"},
    {ublk::kFeatUserRecoveryReissue, "UBLK_F_USER_RECOVERY_REISSUE"},
    {ublk::kFeatUnprivilegedDev, "UBLK_F_UNPRIVILEGED_DEV"},
    {ublk::kFeatCmdIoctlEncode, "UBLK_F_CMD_IOCTL_ENCODE"},
    {ublk::kFeatUserCopy, "UBLK_F_USER_COPY"},
    {ublk::kFeatZoned, "UBLK_F_ZONED"},
    {ublk::kFeatUserRecoveryFailIo, "UBLK_F_USER_RECOVERY_FAIL_IO"},
    {ublk::kFeatUpdateSize, "UBLK_F_UPDATE_SIZE"},
    {ublk::kFeatAutoBufReg, "UBLK_F_AUTO_BUF_REG"},
    {ublk::kFeatQuiesce, "UBLK_F_QUIESCE"},
    {ublk::kFeatPerIoDaemon, "UBLK_F_PER_IO_DAEMON"},
    {ublk::kFeatBufRegOffDaemon, "UBLK_F_BUF_REG_OFF_DAEMON"},
    {ublk::kFeatBatchIo, "UBLK_F_BATCH_IO"},
    {ublk::kFeatIntegrity, "UBLK_F_INTEGRITY"},
    {ublk::kFeatSafeStopDev, "UBLK_F_SAFE_STOP_DEV"},
    {ublk::kFeatNoAutoPartScan, "UBLK_F_NO_AUTO_PART_SCAN"},
    {ublk::kFeatShmemZc, "UBLK_F_SHMEM_ZC"},
}};

constexpr std::array<BackendKind, 3> kBackends{BackendKind::file, BackendKind::mem,
                                               BackendKind::null};

std::string Hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string Joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& n : v) s += (s.empty() ? "" : " ") + n;
  return s.empty() ? "(none)" : s;
}

DataPathMode DataPathFor(const UblkReport& r, BackendKind b) {
  return r.zero_copy ? ChooseDataPath(r.features, b) : DataPathMode::copy;
}

// "file copy, mem copy, null copy"
std::string DataPaths(const UblkReport& r) {
  std::string s;
  for (BackendKind b : kBackends) {
    if (!s.empty()) s += ", ";
    s += std::string(ToString(b)) + " " + std::string(ToString(DataPathFor(r, b)));
  }
  return s;
}

std::string Recovery(const UblkReport& r) {
  if (!r.recovery_error.empty()) return "not possible: " + r.recovery_error;
  return r.recovery + " (--on-crash " + std::string(ToString(r.on_crash)) + ")";
}

}  // namespace

std::span<const UblkFeatureName> UblkFeatureTable() noexcept {
  return kNames;
}

std::vector<std::string> UblkFeatureNames(std::uint64_t features) {
  std::vector<std::string> out;
  for (int b = 0; b < 64; ++b) {
    const std::uint64_t bit = 1ull << b;
    if (!(features & bit)) continue;
    std::string name = "bit " + std::to_string(b);
    for (const auto& n : kNames)
      if (n.bit == bit) name = std::string(n.name);
    out.push_back(std::move(name));
  }
  return out;
}

std::string_view ToString(DataPathMode m) noexcept {
  switch (m) {
    case DataPathMode::copy:
      return "copy";
    case DataPathMode::zero_copy:
      return "zero-copy";
    case DataPathMode::batched:
      return "batched";
  }
  return "copy";
}

DataPathMode ChooseDataPath(std::uint64_t features, BackendKind backend) noexcept {
  if (backend == BackendKind::file && (features & ublk::kFeatAutoBufReg))
    return DataPathMode::zero_copy;
  return DataPathMode::copy;
}

std::uint64_t DataPathFlags(DataPathMode mode) noexcept {
  // SUPPORT_ZERO_COPY too: the fallback's REGISTER_IO_BUF is refused (-EINVAL) without it.
  // Every kernel with AUTO_BUF_REG (6.16) has it (6.15).
  return mode == DataPathMode::zero_copy ? ublk::kFeatAutoBufReg | ublk::kFeatSupportZeroCopy : 0;
}

DataPathMode DataPathOf(std::uint64_t device_flags) noexcept {
  return device_flags & ublk::kFeatAutoBufReg ? DataPathMode::zero_copy : DataPathMode::copy;
}

void DecideRecovery(UblkReport* r) {
  r->recovery.clear();
  r->recovery_error.clear();
  if (!r->ublk) return;
  std::uint64_t flags = 0;
  Result res = RecoveryFlags(r->on_crash, r->features, &flags);
  if (res.ok()) {
    r->recovery = std::string(RecoveryModeName(flags));
  } else {
    r->recovery_error = res.message();
  }
}

std::string FormatReportText(std::string_view version, const UblkReport& r) {
  std::string s = "blkgate " + std::string(version) + "\n";
  s += "kernel " + r.kernel + "\n";
  if (!r.ublk) return s + "ublk: not available: " + r.error + "\n";
  s += "ublk features " + Hex(r.features) + ": " + Joined(UblkFeatureNames(r.features)) + "\n";
  s += "data path: " + DataPaths(r) + (r.zero_copy ? "" : " (--data-path copy)") + "\n";
  s += std::string("kernel has zero copy (UBLK_F_AUTO_BUF_REG): ") +
       (r.features & ublk::kFeatAutoBufReg ? "yes" : "no") +
       "; batched commands (UBLK_F_BATCH_IO): " + (r.features & ublk::kFeatBatchIo ? "yes" : "no") +
       "\n";
  s += std::string("FUA writes: ") +
       (r.fua ? "on (each written durably by itself)" : "off (--fua off: write + FLUSH)") + "\n";
  s += "recovery: " + Recovery(r) + "\n";
  return s;
}

std::string FormatReportJson(std::string_view version, const UblkReport& r) {
  nlohmann::json j = {{"version", version}, {"kernel", r.kernel}, {"ublk", r.ublk}};
  if (!r.ublk) {
    j["error"] = r.error;
    return j.dump() + "\n";
  }
  j["features"] = Hex(r.features);
  j["feature_names"] = UblkFeatureNames(r.features);
  nlohmann::json dp = nlohmann::json::object();
  for (BackendKind b : kBackends)
    dp[std::string(ToString(b))] = std::string(ToString(DataPathFor(r, b)));
  j["data_path"] = dp;
  j["kernel_has"] = {{"zero_copy", (r.features & ublk::kFeatAutoBufReg) != 0},
                     {"batched", (r.features & ublk::kFeatBatchIo) != 0}};
  j["fua"] = r.fua;
  j["on_crash"] = std::string(ToString(r.on_crash));
  if (r.recovery_error.empty()) {
    j["recovery"] = r.recovery;
  } else {
    j["recovery"] = nullptr;
    j["recovery_error"] = r.recovery_error;
  }
  return j.dump() + "\n";
}

std::string FormatReportLog(const UblkReport& r) {
  return "ublk features " + Hex(r.features) + " (" + Joined(UblkFeatureNames(r.features)) +
         "); data path: " + DataPaths(r) + "; FUA " + (r.fua ? "on" : "off") +
         "; recovery: " + Recovery(r);
}

}  // namespace blkgate
