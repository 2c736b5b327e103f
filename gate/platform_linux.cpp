// gate/platform_linux.cpp — LinuxPlatform (see platform_linux.h).
#include "platform_linux.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "access_path.h"
#include "blkgate/unique_fd.h"
#include "fault_point.h"
#include "log.h"
#include "mounts.h"

namespace blkgate {
namespace {

// The first line of /proc/PID/comm, or empty.
std::string CommOf(const std::string& proc_dir) {
  UniqueFd fd(::open((proc_dir + "/comm").c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return {};
  char buf[64] = {};
  ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  std::string comm = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  if (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return comm;
}

// Does any process hold a file, cwd or root on the file system of device `dev`? Read-only scan
// of /proc (like fuser -m). Kernel users (loop files, swap) are caught later by umount's EBUSY.
bool AnyProcessUses(dev_t dev, std::string* who) {
  UniqueDir proc(::opendir("/proc"));
  if (!proc) return false;
  const std::string self = std::to_string(::getpid());
  auto uses = [dev](const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && st.st_dev == dev;
  };
  while (dirent* e = ::readdir(proc.get())) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || self == e->d_name) continue;
    const std::string base = std::string("/proc/") + e->d_name;
    bool hit = uses(base + "/cwd") || uses(base + "/root");
    if (!hit) {
      if (UniqueDir fds(::opendir((base + "/fd").c_str())); fds) {
        while (dirent* f = ::readdir(fds.get())) {
          if (f->d_name[0] != '.' && uses(base + "/fd/" + f->d_name)) {
            hit = true;
            break;
          }
        }
      }
    }
    if (hit) {
      const std::string comm = CommOf(base);
      *who = "process " + std::string(e->d_name) + (comm.empty() ? "" : " (" + comm + ")");
      return true;
    }
  }
  return false;
}

}  // namespace

// ---- backing stores -------------------------------------------------------------------------

Result LinuxPlatform::InspectBacking(const std::string& path, DriveIdentity* id,
                                     std::uint64_t* size) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Result::NotFound(path + " does not exist");
    return Result::FromErrno(errno, "stat " + path);
  }
  if (S_ISREG(st.st_mode)) {
    *size = static_cast<std::uint64_t>(st.st_size);
    *id = {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino), false};
    return Result::Ok();
  }
  if (S_ISBLK(st.st_mode)) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return Result::FromErrno(errno, "open " + path);
    std::uint64_t bytes = 0;
    if (::ioctl(fd.get(), BLKGETSIZE64, &bytes) != 0)
      return Result::FromErrno(errno, "BLKGETSIZE64 " + path);
    *size = bytes;
    *id = {static_cast<std::uint64_t>(st.st_rdev), 0, true};
    return Result::Ok();
  }
  return Result::InvalidArgument(path + " is neither a regular file nor a block device");
}

Result LinuxPlatform::CreateBackingFile(const std::string& path, std::uint64_t size) {
  FaultPoint("create-backing-file");
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) return Result::FromErrno(errno, "create " + path);
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0 || ::fsync(fd.get()) != 0) {
    Result r = Result::FromErrno(errno, "size " + path);
    ::unlink(path.c_str());
    return r;
  }
  return Result::Ok();
}

void LinuxPlatform::RemoveBackingFile(const std::string& path) {
  FaultPoint("remove-backing-file");
  if (::unlink(path.c_str()) != 0) Log("cannot remove " + path + ": " + std::strerror(errno));
}

Result LinuxPlatform::FlushDrive(const Drive& d) {
  FaultPoint("flush-drive");
  UniqueFd fd(::open(d.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Result::FromErrno(errno, "open " + d.path);
  if (::fdatasync(fd.get()) != 0) return Result::FromErrno(errno, "fdatasync " + d.path);
  struct stat st;
  if (::fstat(fd.get(), &st) == 0 && S_ISBLK(st.st_mode) && ::ioctl(fd.get(), BLKFLSBUF, 0) != 0)
    return Result::FromErrno(errno, "BLKFLSBUF " + d.path);
  return Result::Ok();
}

// ---- devices --------------------------------------------------------------------------------

Result LinuxPlatform::StartDevice(const Catalog& c, const Volume& v, int* dev_id) {
  FaultPoint("start-device");
  return volumes_->Start(c, v, dev_id);
}

void LinuxPlatform::StopDevice(const Volume& v) {
  FaultPoint("stop-device");
  volumes_->Stop(v.name);
  Log("volume " + v.name + " stopped");
}

Result LinuxPlatform::DeviceOf(const Volume& v, std::string* path, dev_t* rdev) {
  *path = volumes_->BlockPath(v.name);
  if (path->empty()) return Result::NotReady("volume '" + v.name + "' has no running device");
  struct stat st;
  if (::stat(path->c_str(), &st) != 0) return Result::FromErrno(errno, "stat " + *path);
  *rdev = st.st_rdev;
  return Result::Ok();
}

Result LinuxPlatform::ProbeDeviceUnused(const Volume& v) {
  std::string path;
  dev_t rdev;
  if (!DeviceOf(v, &path, &rdev).ok()) return Result::Ok();  // no device: nothing uses it
  std::vector<MountEntry> m;
  BLKGATE_TRY(MountsOfDevice(rdev, &m));
  if (!m.empty())
    return Result::DeviceInUse("volume '" + v.name + "' is mounted at " + m[0].target);
  // An exclusive open fails with EBUSY while anything else holds the device exclusively (a
  // mount in another namespace, a device-mapper table, another O_EXCL user, our own claim).
  UniqueFd probe(::open(path.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC));
  if (!probe.valid() && errno == EBUSY)
    return Result::DeviceInUse("volume '" + v.name + "' is in use");
  return Result::Ok();
}

Result LinuxPlatform::SampleIo(const Volume& v, std::vector<QueueIoSample>* queues) {
  return volumes_->SampleIo(v.name, queues);
}

DeviceInfo LinuxPlatform::Describe(const Volume& v) {
  DeviceInfo info = volumes_->Describe(v);
  std::string path;
  dev_t rdev;
  std::vector<MountEntry> m;
  if (info.running && DeviceOf(v, &path, &rdev).ok() && MountsOfDevice(rdev, &m).ok())
    for (auto& e : m) info.mounts.push_back(std::move(e.target));
  return info;
}

void LinuxPlatform::Claim(const Volume& v, bool hold) {
  FaultPoint("claim");
  volumes_->Claim(v.name, hold);
}

void LinuxPlatform::PublishGate(const Volume& v, std::uint64_t word, bool wait) {
  FaultPoint("publish-gate");
  volumes_->PublishGate(v.name, word, wait);
}

Result LinuxPlatform::SetDeviceReadOnly(const Volume& v, bool read_only) {
  FaultPoint("set-read-only");
  std::string path;
  dev_t rdev;
  if (!DeviceOf(v, &path, &rdev).ok()) return Result::Ok();  // applied when it starts
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Result::FromErrno(errno, "open " + path);
  int flag = read_only ? 1 : 0;
  if (::ioctl(fd.get(), BLKROSET, &flag) != 0) return Result::FromErrno(errno, "BLKROSET " + path);
  return Result::Ok();
}

bool LinuxPlatform::IsSystemDevice(const Volume& v) {
  std::string path;
  dev_t rdev;
  if (!DeviceOf(v, &path, &rdev).ok()) return false;
  std::vector<dev_t> sys;
  if (!SystemDevices(&sys).ok()) return false;
  return std::find(sys.begin(), sys.end(), rdev) != sys.end();
}

// ---- mounts ---------------------------------------------------------------------------------

Result LinuxPlatform::ListMounts(const Volume& v, std::vector<std::string>* targets) {
  targets->clear();
  std::string path;
  dev_t rdev;
  if (!DeviceOf(v, &path, &rdev).ok()) return Result::Ok();  // no device: nothing mounted
  std::vector<MountEntry> m;
  BLKGATE_TRY(MountsOfDevice(rdev, &m));
  for (auto& e : m) targets->push_back(std::move(e.target));
  return Result::Ok();
}

Result LinuxPlatform::ProbeBusy(const std::string& target) {
  UniqueFd fd;
  BLKGATE_TRY(OpenAccessPath(target, O_PATH, &fd));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Result::FromErrno(errno, "stat " + target);
  std::string who;
  if (AnyProcessUses(st.st_dev, &who)) return Result::DeviceInUse(who + " uses it");
  return Result::Ok();
}

Result LinuxPlatform::Unmount(const Volume& v, const std::string& target) {
  FaultPoint("unmount");
  return UnmountVolume(v, target, /*force=*/false);
}

Result LinuxPlatform::ForceUnmount(const Volume& v, const std::string& target) {
  FaultPoint("force-unmount");
  return UnmountVolume(v, target, /*force=*/true);
}

Result LinuxPlatform::UnmountVolume(const Volume& v, const std::string& target, bool force) {
  std::string path;
  dev_t rdev;
  BLKGATE_TRY(DeviceOf(v, &path, &rdev));
  BLKGATE_TRY(UnmountAccessPath(target, rdev, force ? MNT_DETACH : 0, /*shutdown=*/force));
  Log((force ? "shut down and detached " : "unmounted ") + target);
  return Result::Ok();
}

Result LinuxPlatform::Mount(const Volume& v, const AccessPath& target) {
  FaultPoint("mount");
  std::string path;
  dev_t rdev;
  BLKGATE_TRY(DeviceOf(v, &path, &rdev));
  std::string type;
  BLKGATE_TRY(MountAtAccessPath(path, target, &type));
  Log("mounted " + path + " (" + type + ") at " + target.path + " (" + ToString(target.options) +
      ")");
  return Result::Ok();
}

Result LinuxPlatform::CheckDirectory(const std::string& dir) {
  UniqueFd fd;
  return OpenAccessPath(dir, O_PATH, &fd);
}

// ---- hooks and persistence ------------------------------------------------------------------

Result LinuxPlatform::RunHooks(HookEvent e, Kind kind, const std::string& name,
                               ResourceState state) {
  FaultPoint("hooks");
  return hooks_->Run(e, kind, name, state);
}

Result LinuxPlatform::Persist(const Catalog& next) {
  FaultPoint("persist");
  return store_->Save(next);
}

Result LinuxPlatform::RequestShutdown(bool keep_devices) {
  if (!on_shutdown_) return Result::NotSupported("this daemon cannot be stopped by a call");
  on_shutdown_(keep_devices);
  return Result::Ok();
}

}  // namespace blkgate
