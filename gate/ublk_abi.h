// gate/ublk_abi.h — the ublk kernel ABI the data path speaks.
//
// The structs come from the system's <linux/ublk_cmd.h> (Debian 12 ships Linux 6.1's, which
// has every struct we use but none of the ioctl-encoded command numbers or newer feature
// bits). The newer constants are written here under our own names, from the kernel's
// Documentation/block/ublk.rst and include/uapi/linux/ublk_cmd.h (facts, not code). Never
// include a newer ublk_cmd.h next to this one: both use the same include guard.
#pragma once

#include <linux/ioctl.h>
#include <linux/ublk_cmd.h>

#include <cstddef>
#include <cstdint>

namespace blkgate::ublk {

// ---- layouts we rely on (the kernel ABI; a mismatch would be silent corruption) ------------
static_assert(sizeof(ublksrv_ctrl_cmd) == 32, "ublksrv_ctrl_cmd is 32 bytes in the sqe cmd area");
static_assert(sizeof(ublksrv_ctrl_dev_info) == 64);
static_assert(sizeof(ublksrv_io_desc) == 24);
// 16 bytes: fits the 16-byte cmd area of a normal 64-byte SQE (offset 48), so the per-queue
// rings need no SQE128. Only the control ring does (ublksrv_ctrl_cmd is 32 bytes).
static_assert(sizeof(ublksrv_io_cmd) == 16);
static_assert(offsetof(ublk_params, basic) == 8);
static_assert(sizeof(ublk_param_basic) == 32);
static_assert(sizeof(ublk_param_discard) == 20);

// ---- ioctl-encoded control commands (sent to /dev/ublk-control on an SQE128 ring) -----------
// GET_QUEUE_AFFINITY: data[0] = queue; writes the CPUs blk-mq maps to that queue (a CPU mask of
// len bytes, len a multiple of 8 covering every possible CPU) to addr.
inline constexpr std::uint32_t kCmdGetQueueAffinity = _IOR('u', 0x01, struct ublksrv_ctrl_cmd);
inline constexpr std::uint32_t kCmdGetDevInfo = _IOR('u', 0x02, struct ublksrv_ctrl_cmd);
inline constexpr std::uint32_t kCmdAddDev = _IOWR('u', 0x04, struct ublksrv_ctrl_cmd);
inline constexpr std::uint32_t kCmdDelDev = _IOWR('u', 0x05, struct ublksrv_ctrl_cmd);
inline constexpr std::uint32_t kCmdStartDev = _IOWR('u', 0x06, struct ublksrv_ctrl_cmd);
inline constexpr std::uint32_t kCmdStopDev = _IOWR('u', 0x07, struct ublksrv_ctrl_cmd);
inline constexpr std::uint32_t kCmdSetParams = _IOWR('u', 0x08, struct ublksrv_ctrl_cmd);
inline constexpr std::uint32_t kCmdGetParams = _IOR('u', 0x09, struct ublksrv_ctrl_cmd);
// User recovery (Linux 6.0+): START on a quiesced device whose char device was released, then
// FETCH_REQ on every tag from each queue's thread, then END (data[0] = the new server's pid).
inline constexpr std::uint32_t kCmdStartUserRecovery = _IOWR('u', 0x10, struct ublksrv_ctrl_cmd);
inline constexpr std::uint32_t kCmdEndUserRecovery = _IOWR('u', 0x11, struct ublksrv_ctrl_cmd);
inline constexpr std::uint32_t kCmdGetFeatures = _IOR('u', 0x13, struct ublksrv_ctrl_cmd);
// GET_FEATURES copies exactly this many bytes (a u64 bit set) to ctrl_cmd.addr.
inline constexpr std::uint16_t kFeaturesLen = 8;

// ---- ioctl-encoded I/O commands (sent to /dev/ublkcN on each queue's ring) -------------------
inline constexpr std::uint32_t kIoFetchReq = _IOWR('u', 0x20, struct ublksrv_io_cmd);
inline constexpr std::uint32_t kIoCommitAndFetchReq = _IOWR('u', 0x21, struct ublksrv_io_cmd);
// Zero copy (6.15+): register / unregister the request's pages as a fixed buffer of the ring the
// command is issued on; ublksrv_io_cmd.addr = the buffer table index.
inline constexpr std::uint32_t kIoRegisterIoBuf = _IOWR('u', 0x23, struct ublksrv_io_cmd);
inline constexpr std::uint32_t kIoUnregisterIoBuf = _IOWR('u', 0x24, struct ublksrv_io_cmd);

// ---- automatic buffer registration (UBLK_F_AUTO_BUF_REG, 6.16+) ------------------------------
// With the device flag, FETCH_REQ and COMMIT_AND_FETCH_REQ carry `struct ublk_auto_buf_reg` in
// the SQE's own addr field (not in ublksrv_io_cmd, whose addr must then be 0): bits 0-15 the
// buffer table index the kernel registers the next request's pages at before completing the
// command, bits 16-23 flags, the rest reserved (0). The kernel unregisters the buffer when the
// request is committed. With FALLBACK a failed registration still delivers the request, with
// kIoFlagNeedRegBuf set: the server registers it by hand (kIoRegisterIoBuf) and unregisters it
// before the commit.
inline constexpr std::uint8_t kAutoBufRegFallback = 1;
constexpr std::uint64_t auto_buf_reg_addr(std::uint16_t index, std::uint8_t flags) noexcept {
  return std::uint64_t{index} | std::uint64_t{flags} << 16;
}
static_assert(auto_buf_reg_addr(0x1234, kAutoBufRegFallback) == 0x11234);

// ---- feature flags (ublksrv_ctrl_dev_info.flags, GET_FEATURES) ------------------------------
inline constexpr std::uint64_t kFeatSupportZeroCopy = 1ull << 0;
inline constexpr std::uint64_t kFeatUringCmdCompInTask = 1ull << 1;
inline constexpr std::uint64_t kFeatNeedGetData = 1ull << 2;
inline constexpr std::uint64_t kFeatUserRecovery = 1ull << 3;
inline constexpr std::uint64_t kFeatUserRecoveryReissue = 1ull << 4;
inline constexpr std::uint64_t kFeatUnprivilegedDev = 1ull << 5;
inline constexpr std::uint64_t kFeatCmdIoctlEncode = 1ull << 6;
inline constexpr std::uint64_t kFeatUserCopy = 1ull << 7;
inline constexpr std::uint64_t kFeatZoned = 1ull << 8;
inline constexpr std::uint64_t kFeatUserRecoveryFailIo = 1ull << 9;
inline constexpr std::uint64_t kFeatUpdateSize = 1ull << 10;
inline constexpr std::uint64_t kFeatAutoBufReg = 1ull << 11;
inline constexpr std::uint64_t kFeatQuiesce = 1ull << 12;
inline constexpr std::uint64_t kFeatPerIoDaemon = 1ull << 13;      // 6.16
inline constexpr std::uint64_t kFeatBufRegOffDaemon = 1ull << 14;  // 6.16
inline constexpr std::uint64_t kFeatBatchIo = 1ull << 15;
inline constexpr std::uint64_t kFeatIntegrity = 1ull << 16;
inline constexpr std::uint64_t kFeatSafeStopDev = 1ull << 17;
inline constexpr std::uint64_t kFeatNoAutoPartScan = 1ull << 18;
inline constexpr std::uint64_t kFeatShmemZc = 1ull << 19;
// The recovery flags ADD_DEV accepts together: none, USER_RECOVERY alone, with REISSUE, or with
// FAIL_IO (REISSUE and FAIL_IO exclude each other: -EINVAL).
inline constexpr std::uint64_t kFeatRecoveryAll =
    kFeatUserRecovery | kFeatUserRecoveryReissue | kFeatUserRecoveryFailIo;

// ---- device states (ublksrv_ctrl_dev_info.state, GET_DEV_INFO) ------------------------------
// DEAD: added but not started, or stopped. LIVE: served. QUIESCED: a recoverable device whose
// server exited; requests wait. FAIL_IO (6.13+, with FAIL_IO): the same, but requests fail.
inline constexpr std::uint16_t kDevDead = UBLK_S_DEV_DEAD;
inline constexpr std::uint16_t kDevLive = UBLK_S_DEV_LIVE;
inline constexpr std::uint16_t kDevQuiesced = UBLK_S_DEV_QUIESCED;
inline constexpr std::uint16_t kDevFailIo = 3;
static_assert(kDevDead == 0 && kDevLive == 1 && kDevQuiesced == 2);
static_assert(UBLK_F_USER_RECOVERY == kFeatUserRecovery);
static_assert(UBLK_F_USER_RECOVERY_REISSUE == kFeatUserRecoveryReissue);
static_assert(UBLK_CMD_START_USER_RECOVERY == 0x10 && UBLK_CMD_END_USER_RECOVERY == 0x11);
static_assert(UBLK_CMD_GET_QUEUE_AFFINITY == 0x01);
// ublksrv_flags: "for the server's own use", stored by ADD_DEV and returned by GET_DEV_INFO
// unchanged. blkgate stamps its devices there (recovery_plan.h: OwnerTag).
static_assert(offsetof(ublksrv_ctrl_dev_info, ublksrv_flags) == 32);

// ---- I/O results and ops --------------------------------------------------------------------
inline constexpr int kIoResOk = 0;           // a FETCH/COMMIT cqe: a request is waiting
inline constexpr int kIoResNeedGetData = 1;  // only with NEED_GET_DATA (unused)
// kIoResAbort (-ENODEV): the device is stopping; the tag is never handed out again.

inline constexpr std::uint8_t kOpRead = UBLK_IO_OP_READ;
inline constexpr std::uint8_t kOpWrite = UBLK_IO_OP_WRITE;
inline constexpr std::uint8_t kOpFlush = UBLK_IO_OP_FLUSH;
inline constexpr std::uint8_t kOpDiscard = UBLK_IO_OP_DISCARD;
inline constexpr std::uint8_t kOpWriteZeroes = UBLK_IO_OP_WRITE_ZEROES;
inline constexpr std::uint32_t kIoFlagFua = UBLK_IO_F_FUA >> 8;  // in (op_flags >> 8)
inline constexpr std::uint32_t kIoFlagNoUnmap = UBLK_IO_F_NOUNMAP >> 8;
inline constexpr std::uint32_t kIoFlagNeedRegBuf = (1u << 17) >> 8;  // UBLK_IO_F_NEED_REG_BUF

// ---- the per-queue descriptor array mmapped from /dev/ublkcN --------------------------------
// The kernel spaces the queues' arrays by the size of a *maximum-depth* queue, not by the
// device's depth: queue q lives at CMD_BUF_OFFSET + q * round_up(4096 * 24, page). The mapping
// itself must be exactly round_up(depth * 24, page) bytes, read-only.
inline constexpr std::uint32_t kMaxQueueDepth = UBLK_MAX_QUEUE_DEPTH;
constexpr std::size_t round_up(std::size_t v, std::size_t a) noexcept {
  return (v + a - 1) / a * a;
}
constexpr std::size_t desc_map_size(std::uint32_t depth, std::size_t page) noexcept {
  return round_up(std::size_t{depth} * sizeof(ublksrv_io_desc), page);
}
constexpr std::size_t desc_map_offset(std::uint16_t q_id, std::size_t page) noexcept {
  return UBLKSRV_CMD_BUF_OFFSET + q_id * desc_map_size(kMaxQueueDepth, page);
}
static_assert(desc_map_offset(1, 4096) == 98304);
static_assert(desc_map_size(128, 4096) == 4096);

}  // namespace blkgate::ublk
