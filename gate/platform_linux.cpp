#include "platform_linux.h"

#include <dirent.h>
#include <fcntl.h>
#include <libmount/libmount.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "log.h"
#include "mounts.h"

extern char** environ;

namespace blkgate {
namespace {

// The generic file system shutdown ioctl (ext4's EXT4_IOC_SHUTDOWN, xfs's XFS_IOC_GOINGDOWN):
// _IOR('X', 125, __u32). Flag 0 ("default") freezes the device, which writes back everything,
// then marks the file system shut down so every later access fails with EIO.
constexpr unsigned long kIocShutdown = _IOR('X', 125, std::uint32_t);
constexpr std::uint32_t kShutdownDefault = 0;

std::string Errno(int err) {
  return std::strerror(err);
}

// Does any process hold a file, cwd or root on the file system of device `dev`? Read-only scan
// of /proc (like fuser -m). Kernel users (loop files, swap) are caught later by umount's EBUSY.
bool AnyProcessUses(dev_t dev, std::string* who) {
  DIR* proc = ::opendir("/proc");
  if (!proc) return false;
  bool found = false;
  const std::string self = std::to_string(::getpid());
  while (dirent* e = ::readdir(proc)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || self == e->d_name) continue;
    const std::string base = std::string("/proc/") + e->d_name;
    auto uses = [&](const std::string& p) {
      struct stat st;
      return ::stat(p.c_str(), &st) == 0 && st.st_dev == dev;
    };
    bool hit = uses(base + "/cwd") || uses(base + "/root");
    if (!hit) {
      if (DIR* fds = ::opendir((base + "/fd").c_str())) {
        while (dirent* f = ::readdir(fds)) {
          if (f->d_name[0] == '.') continue;
          if (uses(base + "/fd/" + f->d_name)) {
            hit = true;
            break;
          }
        }
        ::closedir(fds);
      }
    }
    if (hit) {
      std::string comm;
      if (int fd = ::open((base + "/comm").c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
        char buf[64] = {};
        ssize_t n = ::read(fd, buf, sizeof buf - 1);
        ::close(fd);
        if (n > 0) comm.assign(buf, static_cast<std::size_t>(n));
        if (!comm.empty() && comm.back() == '\n') comm.pop_back();
      }
      *who = "process " + std::string(e->d_name) + (comm.empty() ? "" : " (" + comm + ")");
      found = true;
      break;
    }
  }
  ::closedir(proc);
  return found;
}

std::string NewToken() {
  unsigned char raw[16];
  if (::getrandom(raw, sizeof raw, 0) != static_cast<ssize_t>(sizeof raw)) {
    // Extremely unlikely; fall back to something unique enough per process lifetime.
    static std::atomic<unsigned long> n{0};
    return "t" + std::to_string(::getpid()) + "-" + std::to_string(++n);
  }
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned char c : raw) {
    s.push_back(hex[c >> 4]);
    s.push_back(hex[c & 15]);
  }
  return s;
}

}  // namespace

// ---- hook tokens ----------------------------------------------------------------------------

void HookTokens::Add(const std::string& t, std::string what) {
  std::lock_guard lk(mu_);
  active_[t] = std::move(what);
}
void HookTokens::Remove(const std::string& t) {
  std::lock_guard lk(mu_);
  active_.erase(t);
}
std::string HookTokens::Find(const std::string& t) const {
  std::lock_guard lk(mu_);
  auto it = active_.find(t);
  return it == active_.end() ? std::string() : it->second;
}

// ---- backing stores -------------------------------------------------------------------------

Result InspectBacking(const std::string& path, std::uint64_t* size, DriveIdentity* id) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Result::Error(Code::not_found, path + " does not exist");
    return Result::FromErrno(errno, "stat " + path);
  }
  if (S_ISREG(st.st_mode)) {
    *size = static_cast<std::uint64_t>(st.st_size);
    *id = {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino), false};
    return Result::Ok();
  }
  if (S_ISBLK(st.st_mode)) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Result::FromErrno(errno, "open " + path);
    std::uint64_t bytes = 0;
    int rc = ::ioctl(fd, BLKGETSIZE64, &bytes);
    int err = errno;
    ::close(fd);
    if (rc != 0) return Result::FromErrno(err, "BLKGETSIZE64 " + path);
    *size = bytes;
    *id = {static_cast<std::uint64_t>(st.st_rdev), 0, true};
    return Result::Ok();
  }
  return Result::Error(Code::invalid_argument,
                       path + " is neither a regular file nor a block device");
}

Result LinuxPlatform::InspectDrive(const Drive& d, DriveIdentity* id, std::uint64_t* size) {
  return InspectBacking(d.path, size, id);
}

Result LinuxPlatform::FlushDrive(const Drive& d) {
  int fd = ::open(d.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Result::FromErrno(errno, "open " + d.path);
  Result r = Result::Ok();
  if (::fdatasync(fd) != 0) r = Result::FromErrno(errno, "fdatasync " + d.path);
  struct stat st;
  if (r.ok() && ::fstat(fd, &st) == 0 && S_ISBLK(st.st_mode) && ::ioctl(fd, BLKFLSBUF, 0) != 0)
    r = Result::FromErrno(errno, "BLKFLSBUF " + d.path);
  ::close(fd);
  return r;
}

// ---- devices and mounts ---------------------------------------------------------------------

Result LinuxPlatform::DeviceOf(const Volume& v, std::string* path, dev_t* rdev) {
  VolumeRuntime* rt = lookup_(v.name);
  if (!rt || !rt->device)
    return Result::Error(Code::not_ready, "volume '" + v.name + "' has no running device");
  *path = rt->device->block_path();
  struct stat st;
  if (::stat(path->c_str(), &st) != 0) return Result::FromErrno(errno, "stat " + *path);
  *rdev = st.st_rdev;
  return Result::Ok();
}

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
  struct stat st;
  if (::stat(target.c_str(), &st) != 0) return Result::FromErrno(errno, "stat " + target);
  std::string who;
  if (AnyProcessUses(st.st_dev, &who)) return Result::Error(Code::device_in_use, who + " uses it");
  return Result::Ok();
}

Result LinuxPlatform::Unmount(const std::string& target) {
  if (::umount2(target.c_str(), UMOUNT_NOFOLLOW) != 0) {
    if (errno == EBUSY) return Result::Error(Code::device_in_use, target + " is busy");
    return Result::FromErrno(errno, "umount " + target);
  }
  Log("unmounted " + target);
  return Result::Ok();
}

Result LinuxPlatform::ForceUnmount(const std::string& target) {
  int fd = ::open(target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Result::FromErrno(errno, "open " + target);
  std::uint32_t flags = kShutdownDefault;
  int rc = ::ioctl(fd, kIocShutdown, &flags);
  int err = errno;
  ::close(fd);
  if (rc != 0) {
    if (err == ENOTTY || err == EOPNOTSUPP || err == EINVAL)
      return Result::Error(Code::not_supported,
                           "the file system at " + target + " cannot be shut down");
    return Result::FromErrno(err, "shut down " + target);
  }
  if (::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0)
    return Result::FromErrno(errno, "detach " + target);
  Log("shut down and detached " + target);
  return Result::Ok();
}

Result LinuxPlatform::Mount(const Volume& v, const std::string& target) {
  std::string path;
  dev_t rdev;
  BLKGATE_TRY(DeviceOf(v, &path, &rdev));
  libmnt_context* cx = mnt_new_context();
  if (!cx) return Result::FromErrno(ENOMEM, "mnt_new_context");
  mnt_context_set_source(cx, path.c_str());
  mnt_context_set_target(cx, target.c_str());
  int rc = mnt_context_mount(cx);
  Result r = Result::Ok();
  if (rc != 0 || mnt_context_get_status(cx) != 1) {
    char buf[512] = {};
    mnt_context_get_excode(cx, rc, buf, sizeof buf);
    r = Result::Error(Code::io_error,
                      "mount " + path + " at " + target + ": " +
                          (buf[0] ? std::string(buf) : "failed (" + std::to_string(rc) + ")"));
  } else {
    const char* type = mnt_context_get_fstype(cx);
    Log("mounted " + path + " (" + (type ? type : "?") + ") at " + target);
  }
  mnt_free_context(cx);
  return r;
}

Result LinuxPlatform::CheckDirectory(const std::string& dir) {
  if (dir.empty() || dir[0] != '/')
    return Result::Error(Code::invalid_argument, "access path must be absolute: '" + dir + "'");
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return Result::Error(Code::not_found, dir + " does not exist");
    return Result::FromErrno(errno, "stat " + dir);
  }
  if (!S_ISDIR(st.st_mode))
    return Result::Error(Code::invalid_argument, dir + " is not a directory");
  return Result::Ok();
}

void LinuxPlatform::Claim(const Volume& v, bool hold) {
  VolumeRuntime* rt = lookup_(v.name);
  if (!rt) return;
  if (!hold) {
    if (rt->claim_fd >= 0) ::close(rt->claim_fd);
    rt->claim_fd = -1;
    return;
  }
  if (rt->claim_fd >= 0 || !rt->device) return;
  const std::string path = rt->device->block_path();
  rt->claim_fd = ::open(path.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC);
  if (rt->claim_fd < 0) Log("volume " + v.name + ": cannot claim " + path + ": " + Errno(errno));
}

void LinuxPlatform::PublishGate(const Volume& v, std::uint64_t word, bool wait) {
  VolumeRuntime* rt = lookup_(v.name);
  if (!rt) return;
  gate::publish(*rt->gate, word);
  if (wait && rt->device) gate::synchronize(rt->device->queue_syncs());
}

Result LinuxPlatform::SetDeviceReadOnly(const Volume& v, bool read_only) {
  std::string path;
  dev_t rdev;
  if (!DeviceOf(v, &path, &rdev).ok()) return Result::Ok();  // applied when it starts
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Result::FromErrno(errno, "open " + path);
  int flag = read_only ? 1 : 0;
  int rc = ::ioctl(fd, BLKROSET, &flag);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Result::FromErrno(err, "BLKROSET " + path);
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

// ---- hooks ----------------------------------------------------------------------------------

Result LinuxPlatform::RunHooks(HookEvent e, Kind kind, const std::string& name,
                               ResourceState state) {
  std::vector<std::string> hooks;
  if (DIR* d = ::opendir(o_.hooks_dir.c_str())) {
    while (dirent* ent = ::readdir(d)) {
      if (ent->d_name[0] == '.') continue;
      std::string p = o_.hooks_dir + "/" + ent->d_name;
      struct stat st;
      if (::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0)
        hooks.push_back(std::move(p));
    }
    ::closedir(d);
  }
  std::sort(hooks.begin(), hooks.end());
  const bool pre = e == HookEvent::pre_offline || e == HookEvent::pre_online;
  const std::string object = std::string(ToString(kind)) + "/" + name;
  for (const auto& hook : hooks) {
    const std::string token = NewToken();
    std::vector<std::string> env_s = {
        "BLKGATE_EVENT=" + std::string(ToString(e)),
        "BLKGATE_KIND=" + std::string(ToString(kind)),
        "BLKGATE_NAME=" + name,
        "BLKGATE_OBJECT=" + object,
        "BLKGATE_STATE=" + std::string(ToString(state)),
        "BLKGATE_HOOK_TOKEN=" + token,
        "BLKGATE_SOCKET=" + o_.socket_path,
    };
    for (char** p = environ; *p; ++p)
      if (std::strncmp(*p, "BLKGATE_", 8) != 0) env_s.emplace_back(*p);
    std::vector<char*> envp;
    for (auto& s : env_s) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string arg0 = hook;
    char* argv[] = {arg0.data(), nullptr};

    tokens_->Add(token, std::string(ToString(e)) + " hook " + hook + " of " + object);
    pid_t pid;
    // The normal scheduling class even when the calling control thread is SCHED_IDLE (a hook
    // has a deadline); the nice value is inherited from the control thread.
    posix_spawnattr_t attr;
    ::posix_spawnattr_init(&attr);
    sched_param sp{};
    ::posix_spawnattr_setschedpolicy(&attr, SCHED_OTHER);
    ::posix_spawnattr_setschedparam(&attr, &sp);
    ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSCHEDULER);
    int rc = ::posix_spawn(&pid, hook.c_str(), nullptr, &attr, argv, envp.data());
    ::posix_spawnattr_destroy(&attr);
    if (rc != 0) {
      tokens_->Remove(token);
      Log("hook " + hook + ": cannot run: " + Errno(rc));
      if (pre) return Result::Error(Code::io_error, "hook " + hook + " cannot run: " + Errno(rc));
      continue;
    }
    // glibc 2.36's <sys/pidfd.h> lacks C++ linkage; use the system call directly.
    int pfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    bool timed_out = false;
    if (pfd >= 0) {
      pollfd p{pfd, POLLIN, 0};
      int n;
      do n = ::poll(&p, 1, static_cast<int>(o_.hook_timeout_s * 1000));
      while (n < 0 && errno == EINTR);
      if (n == 0) {
        timed_out = true;
        ::kill(pid, SIGKILL);
      }
      ::close(pfd);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    tokens_->Remove(token);
    std::string outcome;
    if (timed_out)
      outcome = "timed out after " + std::to_string(o_.hook_timeout_s) + " s";
    else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
      outcome = "exited " + std::to_string(WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
      outcome = std::string("killed by ") + strsignal(WTERMSIG(status));
    if (!outcome.empty()) {
      Log("hook " + hook + " (" + std::string(ToString(e)) + " " + object + ") " + outcome);
      if (pre) return Result::Error(Code::device_in_use, "hook " + hook + " " + outcome);
    }
  }
  return Result::Ok();
}

Result LinuxPlatform::Persist(const Catalog& next) {
  return store_->Save(next);
}

}  // namespace blkgate
