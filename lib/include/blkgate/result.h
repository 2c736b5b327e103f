// blkgate/result.h — named results of control operations (leveldb's Status, by name).
//
// Every control operation in lib/, the daemon and blkgatectl returns a Result. The name is
// stable (used in --json and in the CLI's one-line errors), and each code has a distinct,
// documented process exit code. Hot-path code never uses Result: it returns -errno.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace blkgate {

// Order is ABI for exit codes: exit code = 10 + index for every code but ok (0).
// Append only; never reorder.
enum class Code : std::uint8_t {
  ok = 0,
  invalid_argument,
  not_found,
  permission_denied,
  not_ready,
  failed_to_offline_disk,
  temporarily_dismounted,
  permanently_dismounted,
  not_supported,
  has_access_path,
  device_in_use,
  cache_corrupt,
  object_deleted,
  object_failed,
  another_call_in_progress,
  system_volume,
  invalid_state,
  reentrant_call,
  already_exists,  // duplicate name
  io_error,        // a syscall failed; message carries strerror
  protocol_error,  // malformed control message, or the daemon cannot be reached
};

inline constexpr int kCodeCount = static_cast<int>(Code::protocol_error) + 1;

// Stable external name, e.g. "failed-to-offline-disk".
std::string_view code_name(Code c) noexcept;
// Inverse of code_name; nullopt for an unknown name.
std::optional<Code> code_from_name(std::string_view name) noexcept;
// Process exit status for blkgatectl: 0 for ok, 10 + index otherwise (1 and 2 are left for
// usage errors detected before any call).
int code_exit_status(Code c) noexcept;

class [[nodiscard]] Result {
 public:
  Result() = default;  // ok
  Result(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Result Ok() { return {}; }
  static Result Error(Code code, std::string message) { return {code, std::move(message)}; }
  // io_error from an errno value, message "<what>: <strerror(err)>".
  static Result FromErrno(int err, std::string_view what);

  bool ok() const noexcept { return code_ == Code::ok; }
  explicit operator bool() const noexcept { return ok(); }
  Code code() const noexcept { return code_; }
  std::string_view name() const noexcept { return code_name(code_); }
  const std::string& message() const noexcept { return message_; }
  // "name: message" (or "ok").
  std::string ToString() const;

 private:
  Code code_ = Code::ok;
  std::string message_;
};

// Propagate a failed Result to the caller.
#define BLKGATE_TRY(expr)          \
  do {                             \
    ::blkgate::Result _r = (expr); \
    if (!_r.ok()) return _r;       \
  } while (0)

}  // namespace blkgate
