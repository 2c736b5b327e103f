// gate/access_path.cpp — mounts at access paths, never through a symbolic link (access_path.h).
#include "access_path.h"

#include <blkid/blkid.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "blkgate/ops.h"

namespace blkgate {
namespace {

// The generic file system shutdown ioctl (ext4's EXT4_IOC_SHUTDOWN, xfs's XFS_IOC_GOINGDOWN):
// _IOR('X', 125, __u32). Flag 0 ("default") freezes the device, which writes back everything,
// then marks the file system shut down so every later access fails with EIO.
constexpr unsigned long kIocShutdown = _IOR('X', 125, std::uint32_t);
constexpr std::uint32_t kShutdownDefault = 0;

// openat2 with RESOLVE_NO_SYMLINKS (which implies no magic links either). glibc 2.36 has no
// wrapper. Returns the descriptor or -1 with errno set.
int OpenNoSymlinks(int dirfd, const char* path, int flags) {
  struct open_how how = {};
  how.flags = static_cast<std::uint64_t>(flags | O_DIRECTORY | O_CLOEXEC);
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}

// The result of a failed OpenNoSymlinks of `path` (errno `err`) shown as `shown`. For ELOOP, the
// first component of `path` that is a symbolic link is named (looked up again only to say
// which: nothing is opened through it).
Result OpenFailure(int err, const std::string& path, const std::string& shown) {
  switch (err) {
    case ELOOP: {
      for (std::size_t i = path.find('/', 1);; i = path.find('/', i + 1)) {
        const std::string prefix = path.substr(0, i);
        struct stat st;
        if (::lstat(prefix.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
          return Result::PermissionDenied("access path " + shown + ": " + prefix +
                                          " is a symbolic link; access paths are never "
                                          "mounted or unmounted through one");
        if (i == std::string::npos) break;
      }
      return Result::PermissionDenied("access path " + shown +
                                      ": a component is a symbolic link; access paths are never "
                                      "mounted or unmounted through one");
    }
    case ENOENT:
      return Result::NotFound(shown + " does not exist");
    case ENOTDIR:
      return Result::InvalidArgument(shown + " is not a directory");
    case ENOSYS:
      return Result::NotSupported("openat2 (Linux 5.6) is needed to open " + shown + " safely");
    default:
      return Result::FromErrno(err, "open " + shown);
  }
}

// The kernel's error messages queued on a file system context ("e ..." lines), "; "-joined.
std::string ContextMessages(int fs) {
  std::string all;
  char buf[1024];
  for (;;) {
    const ssize_t n = ::read(fs, buf, sizeof buf - 1);
    if (n <= 0) break;
    std::string m(buf, static_cast<std::size_t>(n));
    if (m.size() > 2 && m[1] == ' ') m = m.substr(2);
    all += (all.empty() ? "" : "; ") + m;
  }
  return all;
}

Result ContextError(int err, int fs, const std::string& what) {
  const std::string kernel = ContextMessages(fs);
  return Result::IoError(what + ": " + (kernel.empty() ? "" : kernel + ": ") + std::strerror(err));
}

struct ProbeFree {
  void operator()(blkid_probe pr) const { blkid_free_probe(pr); }
};

// The file system type on `device`, from its superblock (libblkid, file systems only).
Result ProbeType(const std::string& device, std::string* type) {
  std::unique_ptr<blkid_struct_probe, ProbeFree> pr(blkid_new_probe_from_filename(device.c_str()));
  if (!pr) return Result::FromErrno(errno ? errno : EIO, "probe " + device);
  blkid_probe_enable_superblocks(pr.get(), 1);
  blkid_probe_set_superblocks_flags(pr.get(), BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE);
  blkid_probe_filter_superblocks_usage(pr.get(), BLKID_FLTR_ONLYIN, BLKID_USAGE_FILESYSTEM);
  const int rc = blkid_do_safeprobe(pr.get());
  if (rc == 1) return Result::IoError("no file system found on " + device);
  if (rc == -2) return Result::IoError("more than one file system signature on " + device);
  const char* t = nullptr;
  if (rc != 0 || blkid_probe_lookup_value(pr.get(), "TYPE", &t, nullptr) != 0 || !t)
    return Result::IoError("cannot probe the file system of " + device);
  *type = t;
  return Result::Ok();
}

bool DeviceIsReadOnly(const std::string& device) {
  UniqueFd fd(::open(device.c_str(), O_RDONLY | O_CLOEXEC));
  int ro = 0;
  return fd.valid() && ::ioctl(fd.get(), BLKROGET, &ro) == 0 && ro != 0;
}

unsigned int MountAttributes(const MountOptions& o) {
  unsigned int attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (o.read_only) attr |= MOUNT_ATTR_RDONLY;
  if (o.noexec) attr |= MOUNT_ATTR_NOEXEC;
  if (o.atime == Atime::noatime) attr |= MOUNT_ATTR_NOATIME;
  if (o.atime == Atime::strictatime) attr |= MOUNT_ATTR_STRICTATIME;
  if (o.nodiratime) attr |= MOUNT_ATTR_NODIRATIME;
  return attr;  // relatime is MOUNT_ATTR_RELATIME, 0
}

Result StatxOf(int fd, unsigned int mask, struct statx* st) {
  if (::statx(fd, "", AT_EMPTY_PATH, mask, st) != 0) return Result::FromErrno(errno, "statx");
  if ((st->stx_mask & mask) != mask)
    return Result::NotSupported("statx cannot report mount ids on this kernel (Linux 5.8)");
  return Result::Ok();
}

// "/proc/self/fd/N[/name]": resolved by the kernel from descriptor N, never by name.
std::string ViaFd(int fd, const std::string& name = {}) {
  return "/proc/self/fd/" + std::to_string(fd) + (name.empty() ? "" : "/" + name);
}

}  // namespace

Result OpenAccessPath(const std::string& dir, int flags, UniqueFd* out) {
  if (dir.empty() || dir[0] != '/')
    return Result::InvalidArgument("access path must be absolute: '" + dir + "'");
  if (dir == "/") return Result::InvalidArgument("/ cannot be an access path");
  std::string norm;
  BLKGATE_TRY(ops::NormalisePath("access path", dir, &norm));
  if (norm != dir)
    return Result::InvalidArgument("access path '" + dir + "' is not normalised ('" + norm + "')");
  UniqueFd fd(OpenNoSymlinks(AT_FDCWD, dir.c_str(), flags));
  if (!fd.valid()) return OpenFailure(errno, dir, dir);
  *out = std::move(fd);
  return Result::Ok();
}

Result MountOnto(int dirfd, const std::string& device, const MountOptions& options,
                 UniqueFd* mount_fd, std::string* fstype) {
  std::string type;
  BLKGATE_TRY(ProbeType(device, &type));
  UniqueFd fs(::fsopen(type.c_str(), FSOPEN_CLOEXEC));
  if (!fs.valid()) {
    if (errno == ENODEV) return Result::IoError("the kernel has no file system '" + type + "'");
    return Result::FromErrno(errno, "fsopen " + type);
  }
  // Read-only as a whole only when the device is: "ro" of an access path is the mount's own
  // attribute (as a read-only bind mount), so the same volume can be mounted ro at one path
  // and rw at another (the superblock is shared and cannot be both).
  const bool device_ro = DeviceIsReadOnly(device);
  if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "source", device.c_str(), 0) != 0)
    return ContextError(errno, fs.get(), "source " + device);
  if (device_ro && ::fsconfig(fs.get(), FSCONFIG_SET_FLAG, "ro", nullptr, 0) != 0)
    return ContextError(errno, fs.get(), "ro");
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    return ContextError(errno, fs.get(), type);
  const unsigned int attr = MountAttributes(options) | (device_ro ? MOUNT_ATTR_RDONLY : 0);
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, attr));
  if (!mnt.valid()) return ContextError(errno, fs.get(), "fsmount");
  // The target is the descriptor itself (MOVE_MOUNT_T_EMPTY_PATH with ""): no path lookup.
  if (::move_mount(mnt.get(), "", dirfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) !=
      0)
    return Result::FromErrno(errno, "move_mount");
  *mount_fd = std::move(mnt);
  *fstype = type;
  return Result::Ok();
}

Result MountAtAccessPath(const std::string& device, const AccessPath& ap, std::string* fstype) {
  UniqueFd dir;
  BLKGATE_TRY(OpenAccessPath(ap.path, O_PATH, &dir));
  UniqueFd mnt;
  if (Result r = MountOnto(dir.get(), device, ap.options, &mnt, fstype); !r.ok())
    return Result::Error(r.code(), "mount " + device + " at " + ap.path + ": " + r.message());
  // The path must lead to what was just mounted: a parent renamed between the open and the
  // mount would have carried the mount elsewhere.
  struct statx ours, there;
  UniqueFd again;
  Result same = StatxOf(mnt.get(), STATX_MNT_ID, &ours);
  if (same.ok()) same = OpenAccessPath(ap.path, O_PATH, &again);
  if (same.ok()) same = StatxOf(again.get(), STATX_MNT_ID, &there);
  if (same.ok() && ours.stx_mnt_id != there.stx_mnt_id)
    same = Result::PermissionDenied("access path " + ap.path + " was moved while it was mounted");
  if (!same.ok()) {
    (void)::umount2(ViaFd(mnt.get()).c_str(), MNT_DETACH);  // the new mount's root
    return same;
  }
  return Result::Ok();
}

Result UnmountAccessPath(const std::string& dir, dev_t rdev, int flags, bool shutdown) {
  const std::size_t slash = dir.rfind('/');
  if (slash == std::string::npos || slash + 1 == dir.size())
    return Result::InvalidArgument("access path must be absolute: '" + dir + "'");
  const std::string name = dir.substr(slash + 1);
  UniqueFd parent;
  if (slash == 0) {
    parent.reset(OpenNoSymlinks(AT_FDCWD, "/", O_PATH));
    if (!parent.valid()) return Result::FromErrno(errno, "open /");
  } else {
    BLKGATE_TRY(OpenAccessPath(dir.substr(0, slash), O_PATH, &parent));
  }
  UniqueFd target(OpenNoSymlinks(parent.get(), name.c_str(), shutdown ? O_RDONLY : O_PATH));
  if (!target.valid()) return OpenFailure(errno, dir, dir);
  struct statx st;
  BLKGATE_TRY(StatxOf(target.get(), STATX_TYPE, &st));  // stx_dev and attributes: always
  const bool root = (st.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
                    (st.stx_attributes & STATX_ATTR_MOUNT_ROOT);
  if (!root || makedev(st.stx_dev_major, st.stx_dev_minor) != rdev)
    return Result::InvalidState(dir +
                                " is not the volume's mount (nothing or something else is "
                                "mounted there); not unmounted");
  if (shutdown) {
    std::uint32_t how = kShutdownDefault;
    if (::ioctl(target.get(), kIocShutdown, &how) != 0) {
      const int err = errno;
      if (err == ENOTTY || err == EOPNOTSUPP || err == EINVAL)
        return Result::NotSupported("the file system at " + dir + " cannot be shut down");
      return Result::IoError("shut down " + dir + ": " + std::strerror(err));
    }
  }
  target.reset();  // an open descriptor on the mount would make umount say EBUSY
  if (::umount2(ViaFd(parent.get(), name).c_str(), flags | UMOUNT_NOFOLLOW) != 0) {
    if (errno == EBUSY) return Result::DeviceInUse(dir + " is busy");
    return Result::IoError("umount " + dir + ": " + std::strerror(errno));
  }
  return Result::Ok();
}

}  // namespace blkgate
