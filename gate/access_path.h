// gate/access_path.h — mounting and unmounting at access paths without following symbolic links.
//
// An access path is recorded once and mounted again at every mount, online and start, long
// after `path add` checked it: a user who owns a parent directory can meanwhile replace a
// component with a symbolic link. So nothing here goes by path name alone:
//
//  - the path is opened with openat2(RESOLVE_NO_SYMLINKS) (O_PATH|O_DIRECTORY): a symbolic link
//    at any component fails the call, naming the component (permission_denied);
//  - the volume is mounted onto that opened directory with the kernel's mount API: fsopen /
//    fsconfig / fsmount make a detached mount with its attributes (nosuid, nodev, ...) set
//    before it is visible anywhere, and move_mount(MOVE_MOUNT_T_EMPTY_PATH) attaches it on the
//    directory the descriptor holds. The kernel never looks the path up again, so a swap after
//    the open cannot redirect the mount (tests/e2e/hardening/mount-onto-opened-dir.sh proves
//    it). Afterwards the path is opened again and must lead to the new mount; if a parent was
//    moved meanwhile, the mount is detached again and the call fails.
//    Why not libmount with "/proc/self/fd/N" as the target: libmount canonicalises the target
//    (realpath, a path looked up again by name) unless told not to, may hand it to a
//    /sbin/mount.TYPE helper for which our fd number means nothing, and applies nosuid/nodev
//    through the same mount(2) call, so every version and code path of libmount would have to
//    be trusted to keep the descriptor; with the mount API the descriptor is the target by
//    construction. The file system type comes from libblkid (which libmount used too).
//  - unmounting opens the parent directory the same way, checks that the directory below it is
//    the root of a mount of the volume's device (stacked mounts, someone else's mount:
//    invalid_state), and unmounts "/proc/self/fd/PARENT/NAME" with UMOUNT_NOFOLLOW: resolved
//    from the descriptor, not from the path. (The directory's own descriptor cannot be the
//    target: any open descriptor on the mount, O_PATH too, makes umount say EBUSY.)
//
// Paths must be absolute and normalised (the registry's edge does it: ops::NormalisePath); "/"
// is refused as an access path. Thread-safety: the functions share no state; the daemon calls
// them under its control lock.
#pragma once

#include <sys/types.h>

#include <string>

#include "blkgate/model.h"
#include "blkgate/result.h"
#include "blkgate/unique_fd.h"

namespace blkgate {

// Opens `dir` (absolute, normalised, not "/") with `flags` (O_PATH or O_RDONLY; O_DIRECTORY
// and O_CLOEXEC are added) without following a symbolic link at any component.
// permission_denied naming the component that is a symbolic link, not_found, invalid_argument
// (not a directory, not absolute or not normalised), or the errno's result.
Result OpenAccessPath(const std::string& dir, int flags, UniqueFd* out);

// Mounts the block device `device` (file system type probed with libblkid) onto the directory
// `dirfd` refers to, with `options`' attributes, nosuid and nodev; read-only as a whole when the
// device is. *mount_fd: the new mount (its root). *fstype: the type found. io_error naming the
// kernel's reason on failure; nothing is mounted then.
Result MountOnto(int dirfd, const std::string& device, const MountOptions& options,
                 UniqueFd* mount_fd, std::string* fstype);

// OpenAccessPath(ap.path), MountOnto, then the check that ap.path leads to the new mount (the
// mount is detached again and permission_denied returned when it does not).
Result MountAtAccessPath(const std::string& device, const AccessPath& ap, std::string* fstype);

// Unmounts the mount of block device `rdev` at `dir` (umount2 `flags`, UMOUNT_NOFOLLOW always),
// reached as OpenAccessPath reaches it. invalid_state when `dir` is not the root of a mount
// of `rdev` (nothing mounted there, something mounted over it, another device). With
// `shutdown`, the file system is shut down first (FS_IOC_SHUTDOWN on a descriptor opened the
// same way): not_supported when it has none. device_in_use when umount says EBUSY.
Result UnmountAccessPath(const std::string& dir, dev_t rdev, int flags, bool shutdown);

}  // namespace blkgate
