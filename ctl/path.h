// ctl/path.h — make user-typed paths absolute before they go to the daemon (which has its own
// cwd). This is the only file system access of the CLI; it is a cli.h PathResolver.
#pragma once

#include <string>
#include <string_view>

#include "blkgate/result.h"

namespace blkgate::ctl {

// Absolute path for `path`:
//  - directory (an access path): absolute against the working directory and lexically
//    normalised, symbolic links NOT resolved: the daemon refuses an access path with a link in
//    it (permission-denied), so it must see the path as typed.
//  - otherwise (a drive's backing store): realpath of the parent directory plus the last
//    component as typed, so a missing file can be created by the daemon and a stable symlink
//    name (/dev/disk/by-id/...) is kept.
//  - when the parent cannot be resolved either: the lexically normalised absolute path, and the
//    daemon reports the missing file.
// invalid_argument for an empty path; io_error when the cwd cannot be read.
Result ResolvePath(std::string_view path, bool directory, std::string* out);

}  // namespace blkgate::ctl
