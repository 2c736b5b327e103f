// blkgate/result.h — named results of control operations (leveldb's Status, by name).
//
// Every control operation in lib/, the daemon and blkgatectl returns a Result. The name is
// stable (used in --json and in the CLI's one-line errors), and each code has a distinct,
// documented process exit code. Hot-path code never uses Result: it returns -errno.
//
// One table (BLKGATE_RESULT_CODES) drives the enum, the names, the meanings printed by
// `blkgatectl results` and docs/control-protocol.md, and the named constructors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace blkgate {

// X(enumerator, NamedConstructor, "external-name", "meaning"). Order is ABI for exit codes:
// exit code = 10 + index for every code but ok (0). Append only; never reorder.
#define BLKGATE_RESULT_CODES(X)                                                               \
  X(ok, Ok, "ok", "done")                                                                     \
  X(invalid_argument, InvalidArgument, "invalid-argument",                                    \
    "bad input: unknown verb or option, bad size or name, extent past the disk's end...")     \
  X(not_found, NotFound, "not-found", "no such drive/disk/volume/path")                       \
  X(permission_denied, PermissionDenied, "permission-denied",                                 \
    "the caller may not do this (socket credentials, unsafe hook)")                           \
  X(not_ready, NotReady, "not-ready",                                                         \
    "the object cannot serve the request now (e.g. a volume not running)")                    \
  X(failed_to_offline_disk, FailedToOfflineDisk, "failed-to-offline-disk",                    \
    "a volume of the disk could not be taken offline (named in the message)")                 \
  X(temporarily_dismounted, TemporarilyDismounted, "temporarily-dismounted",                  \
    "the volume is already dismounted")                                                       \
  X(permanently_dismounted, PermanentlyDismounted, "permanently-dismounted",                  \
    "the volume is already dismounted permanently")                                           \
  X(not_supported, NotSupported, "not-supported",                                             \
    "the operation or combination is not supported (e.g. a file system without shutdown)")    \
  X(has_access_path, HasAccessPath, "has-access-path",                                        \
    "permanent dismount refused: access paths remain")                                        \
  X(device_in_use, DeviceInUse, "device-in-use",                                              \
    "in use (open files, mounted, a drive used by a disk, a disk with volumes, a hook veto)") \
  X(cache_corrupt, CacheCorrupt, "cache-corrupt",                                             \
    "a backing store changed under the gate; run `blkgatectl refresh`")                       \
  X(object_deleted, ObjectDeleted, "object-deleted", "the object was removed")                \
  X(object_failed, ObjectFailed, "object-failed", "the object is failed and cannot do that")  \
  X(another_call_in_progress, AnotherCallInProgress, "another-call-in-progress",              \
    "another operation on the object is running")                                             \
  X(system_volume, SystemVolume, "system-volume",                                             \
    "the system/boot volume cannot be taken offline")                                         \
  X(invalid_state, InvalidState, "invalid-state",                                             \
    "not allowed in the object's current state (e.g. pending)")                               \
  X(reentrant_call, ReentrantCall, "reentrant-call", "a control call from inside a hook")     \
  X(already_exists, AlreadyExists, "already-exists", "duplicate name")                        \
  X(io_error, IoError, "io-error", "a system call failed (the message says which)")           \
  X(protocol_error, ProtocolError, "protocol-error",                                          \
    "the daemon is not reachable, or sent (or was sent) something malformed")

enum class Code : std::uint8_t {
#define BLKGATE_X(e, C, name, meaning) e,
  BLKGATE_RESULT_CODES(BLKGATE_X)
#undef BLKGATE_X
};

#define BLKGATE_X(e, C, name, meaning) +1
inline constexpr int kCodeCount = 0 BLKGATE_RESULT_CODES(BLKGATE_X);
#undef BLKGATE_X

// Stable external name, e.g. "failed-to-offline-disk".
std::string_view CodeName(Code c) noexcept;
// One line saying what the code means (for `blkgatectl results` and the protocol reference).
std::string_view CodeMeaning(Code c) noexcept;
// Inverse of CodeName; nullopt for an unknown name.
std::optional<Code> CodeFromName(std::string_view name) noexcept;
// Process exit status for blkgatectl: 0 for ok, 10 + index otherwise (1 and 2 are left for
// usage errors detected before any call).
int CodeExitStatus(Code c) noexcept;
// The code an errno value stands for: ENOENT not_found, EBUSY device_in_use, EACCES/EPERM
// permission_denied, EEXIST already_exists; anything else io_error (the message names the
// call). The one place errno values become codes.
Code CodeOfErrno(int err) noexcept;

class [[nodiscard]] Result {
 public:
  Result() = default;  // ok
  Result(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Result Error(Code code, std::string message) { return {code, std::move(message)}; }
  // One named constructor per code: Result::NotFound("volume 'v0' does not exist"), ...
#define BLKGATE_X(e, C, name, meaning)        \
  static Result C(std::string message = {}) { \
    return {Code::e, std::move(message)};     \
  }
  BLKGATE_RESULT_CODES(BLKGATE_X)
#undef BLKGATE_X
  // "<kind> '<name>' does not exist" (not_found).
  static Result Missing(std::string_view kind, std::string_view name);
  // "<kind> '<name>' already exists" (already_exists).
  static Result Duplicate(std::string_view kind, std::string_view name);
  // CodeOfErrno(err) with the message "<what>: <strerror(err)>".
  static Result FromErrno(int err, std::string_view what);

  bool ok() const noexcept {
    return code_ == Code::ok;
  }
  explicit operator bool() const noexcept {
    return ok();
  }
  Code code() const noexcept {
    return code_;
  }
  std::string_view name() const noexcept {
    return CodeName(code_);
  }
  const std::string& message() const noexcept {
    return message_;
  }
  // "name: message" (or "ok").
  std::string ToString() const;
  // The same code with "<prefix>: " before the message (context added by a caller).
  Result Prefixed(std::string_view prefix) const;

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
