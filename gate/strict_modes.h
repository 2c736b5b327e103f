// gate/strict_modes.h — sshd's StrictModes for what the daemon trusts: the state dir, the hooks
// dir and every hook in it. The daemon runs as root and runs hooks as root, so anything another
// user could change there (a directory they own or may write, one above it, a hook file) would
// hand them root.
//
// The rules. Trusted owners are root and `owner` (the daemon's own user: the same as root when it
// runs as root, as ublk needs).
//   - A checked directory and every directory on the way to it — each symlink followed, and the
//     directory holding that symlink checked too — is owned by a trusted owner.
//   - The checked directory itself is writable by its owner only (no group or world write bit).
//   - A directory above it may be group- or world-writable only with the sticky bit (/tmp): then
//     no one else can rename or remove what root created in it. A symlink must be owned by a
//     trusted owner (in a sticky directory its owner could replace it).
//   - A hook is a regular file (not a symlink), owned by a trusted owner, not group- or
//     world-writable.
// Failures are permission_denied naming the path and the fix (`chmod go-w /x/state`).
//
// Threads: pure functions (stat calls only); any thread.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <string>
#include <string_view>

#include "blkgate/result.h"

namespace blkgate {

// Checks the directory `dir` (absolute) and the way to it, as above. `what` names it in messages
// ("state dir"). not_found when a component is missing; io_error when one cannot be inspected.
Result CheckSafeDirectory(const std::string& dir, uid_t owner, std::string_view what);

// For a directory `dir` about to be created: checks the way to it, its parent judged as a
// directory above it (so a sticky /tmp is fine). Messages read "state dir /tmp/x/new: /tmp/x is
// ...".
Result CheckSafeParent(const std::string& dir, uid_t owner, std::string_view what);

// Judges one hook by the fstat of an O_PATH | O_NOFOLLOW open of it: ok when it may run.
Result JudgeHook(const struct stat& st, const std::string& path, uid_t owner);

}  // namespace blkgate
