#include "blkgate/result.h"

#include <array>
#include <cstring>

namespace blkgate {
namespace {

constexpr std::array<std::string_view, kCodeCount> kNames = {
    "ok",
    "invalid-argument",
    "not-found",
    "permission-denied",
    "not-ready",
    "failed-to-offline-disk",
    "temporarily-dismounted",
    "permanently-dismounted",
    "not-supported",
    "has-access-path",
    "device-in-use",
    "cache-corrupt",
    "object-deleted",
    "object-failed",
    "another-call-in-progress",
    "system-volume",
    "invalid-state",
    "reentrant-call",
    "already-exists",
    "io-error",
    "protocol-error",
};

}  // namespace

std::string_view code_name(Code c) noexcept {
  auto i = static_cast<std::size_t>(c);
  return i < kNames.size() ? kNames[i] : std::string_view("unknown");
}

std::optional<Code> code_from_name(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == name) return static_cast<Code>(i);
  return std::nullopt;
}

int code_exit_status(Code c) noexcept {
  return c == Code::ok ? 0 : 10 + static_cast<int>(c);
}

Result Result::FromErrno(int err, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(err);
  return {Code::io_error, std::move(msg)};
}

std::string Result::ToString() const {
  std::string s(name());
  if (!message_.empty()) {
    s += ": ";
    s += message_;
  }
  return s;
}

}  // namespace blkgate
