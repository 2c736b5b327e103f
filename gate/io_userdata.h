// gate/io_userdata.h — the one encoder for io_uring user_data on the data path.
//
// Layout (64 bits):  [63..56] kind   [55..24] reserved (0)   [23..16] sub   [15..0] tag
//   kind ublk_cmd:  a FETCH / COMMIT_AND_FETCH command of `tag`.
//   kind backend:   backing I/O of request `tag`, piece `sub` (one piece per segment).
//   kind timeout:   the parked-request re-check timer (tag/sub unused).
//   kind wake:      the queue's wake-up eventfd poll (tag/sub unused).
//   kind ublk_reg:  zero copy's fallback: REGISTER_IO_BUF (sub 0) / UNREGISTER_IO_BUF (sub 1)
//                   of request `tag`'s pages, registered by hand.
// Kind 0 is never used so a zeroed user_data is recognisably bogus; liburing reserves
// user_data ~0 (LIBURING_UDATA_TIMEOUT), whose kind 0xff we never produce.
#pragma once

#include <cstdint>

namespace blkgate::io {

enum class UdKind : std::uint8_t {
  invalid = 0,
  ublk_cmd = 1,
  backend = 2,
  timeout = 3,
  wake = 4,
  ublk_reg = 5,
};

inline constexpr int kUdKindShift = 56;
inline constexpr int kUdSubShift = 16;

struct UserData {
  UdKind kind = UdKind::invalid;
  std::uint16_t tag = 0;
  std::uint8_t sub = 0;
};

constexpr std::uint64_t encode_ud(UdKind kind, std::uint16_t tag = 0,
                                  std::uint8_t sub = 0) noexcept {
  return (static_cast<std::uint64_t>(kind) << kUdKindShift) |
         (static_cast<std::uint64_t>(sub) << kUdSubShift) | tag;
}
constexpr UdKind ud_kind(std::uint64_t ud) noexcept {
  return static_cast<UdKind>(ud >> kUdKindShift);
}
constexpr std::uint16_t ud_tag(std::uint64_t ud) noexcept {
  return static_cast<std::uint16_t>(ud);
}
constexpr std::uint8_t ud_sub(std::uint64_t ud) noexcept {
  return static_cast<std::uint8_t>(ud >> kUdSubShift);
}
constexpr UserData decode_ud(std::uint64_t ud) noexcept {
  return UserData{ud_kind(ud), ud_tag(ud), ud_sub(ud)};
}

// Round trips and field isolation.
static_assert(ud_kind(encode_ud(UdKind::backend, 0xffff, 0xff)) == UdKind::backend);
static_assert(ud_tag(encode_ud(UdKind::backend, 0xffff, 0xff)) == 0xffff);
static_assert(ud_sub(encode_ud(UdKind::backend, 0xffff, 0xff)) == 0xff);
static_assert(ud_tag(encode_ud(UdKind::ublk_cmd, 4095)) == 4095);
static_assert(ud_sub(encode_ud(UdKind::ublk_cmd, 4095)) == 0);
static_assert(encode_ud(UdKind::timeout) != encode_ud(UdKind::wake));
static_assert(encode_ud(UdKind::ublk_cmd, 0) != 0, "no valid user_data is zero");
static_assert(ud_kind(~0ull) != UdKind::ublk_cmd && ud_kind(~0ull) != UdKind::backend &&
                  ud_kind(~0ull) != UdKind::timeout && ud_kind(~0ull) != UdKind::wake &&
                  ud_kind(~0ull) != UdKind::ublk_reg,
              "liburing's internal timeout user_data must never decode as ours");
// Every tag (ublk depth <= 4096) and every piece (<= 16 segments) fits.
static_assert((4096 - 1) <= 0xffff && (16 - 1) <= 0xff);

}  // namespace blkgate::io
