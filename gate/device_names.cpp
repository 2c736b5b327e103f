// gate/device_names.cpp — see device_names.h.
#include "device_names.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "blkgate/unique_fd.h"
#include "log.h"
#include "strict_modes.h"

namespace blkgate {

namespace {

bool WriteWhole(int fd, const std::string& s) {
  return ::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size());
}

std::string Line(const std::string& volume) {
  return "BLKGATE_VOLUME=" + volume + "\n";
}

// N of a file named exactly "ublkbN", else -1.
int DeviceIdOf(const char* name) {
  if (std::strncmp(name, "ublkb", 5) != 0 || name[5] == '\0') return -1;
  long id = 0;
  for (const char* c = name + 5; *c; ++c) {
    if (*c < '0' || *c > '9' || id > 1000000) return -1;
    id = id * 10 + (*c - '0');
  }
  return static_cast<int>(id);
}

// The whole of a small file (a name file is one short line), or "" when unreadable.
std::string ReadSmall(int dir_fd, const char* name) {
  UniqueFd fd(::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return {};
  char buf[512];
  const ssize_t n = ::read(fd.get(), buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace

DeviceNames::DeviceNames(std::string dir, std::string sys_block)
    : dir_(std::move(dir)), sys_block_(std::move(sys_block)) {}

bool DeviceNames::Prepare() {
  usable_ = false;
  if (dir_.empty()) return false;
  if (dir_[0] != '/') {
    Log("device names: " + dir_ + " is not absolute; no /dev/blkgate names");
    return false;
  }
  // Each missing component from the top, checked before it is made.
  for (std::size_t at = 1; at <= dir_.size(); ++at) {
    if (at != dir_.size() && dir_[at] != '/') continue;
    const std::string part = dir_.substr(0, at);
    struct stat st;
    if (::lstat(part.c_str(), &st) == 0) continue;
    if (Result r = CheckSafeParent(part, ::geteuid(), "device names dir"); !r.ok()) {
      Log("device names: " + r.ToString() + "; no /dev/blkgate names");
      return false;
    }
    if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) {
      Log("device names: create " + part + ": " + std::strerror(errno) + "; no /dev/blkgate names");
      return false;
    }
  }
  if (Result r = CheckSafeDirectory(dir_, ::geteuid(), "device names dir"); !r.ok()) {
    Log("device names: " + r.ToString() + "; no /dev/blkgate names");
    return false;
  }
  usable_ = true;
  return true;
}

std::string DeviceNames::FileOf(int dev_id) const {
  return dir_ + "/ublkb" + std::to_string(dev_id);
}

std::string DeviceNames::SysDirOf(int dev_id) const {
  return sys_block_ + "/ublkb" + std::to_string(dev_id);
}

int DeviceNames::HolderOf(const std::string& volume, int except) const {
  if (!usable_) return -1;
  UniqueDir d(::opendir(dir_.c_str()));
  if (!d) return -1;
  const std::string want = Line(volume);
  while (const dirent* e = ::readdir(d.get())) {
    const int id = DeviceIdOf(e->d_name);
    if (id < 0 || id == except) continue;
    if (ReadSmall(::dirfd(d.get()), e->d_name) != want) continue;
    if (::access(SysDirOf(id).c_str(), F_OK) == 0) return id;
  }
  return -1;
}

bool DeviceNames::Publish(int dev_id, const std::string& volume) {
  if (!usable_ || dev_id < 0) return false;
  if (const int holder = HolderOf(volume, dev_id); holder >= 0) {
    Log("device names: /dev/blkgate/" + volume + " is already /dev/ublkb" + std::to_string(holder) +
        "'s (a volume of that name served by another daemon); /dev/ublkb" + std::to_string(dev_id) +
        " gets no stable name: give the volumes machine-unique names");
    // An older file of this id must not keep claiming the name, nor udev its old links.
    if (::unlink(FileOf(dev_id).c_str()) == 0) Retrigger(dev_id);
    return false;
  }
  const std::string path = FileOf(dev_id);
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!fd.valid() || !WriteWhole(fd.get(), Line(volume))) {
      Log("device names: write " + tmp + ": " + std::strerror(errno));
      ::unlink(tmp.c_str());
      return false;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Log("device names: rename " + tmp + ": " + std::strerror(errno));
    ::unlink(tmp.c_str());
    return false;
  }
  Retrigger(dev_id);
  return true;
}

void DeviceNames::Retrigger(int dev_id) const {
  // udev applies the rules again, now with the file (what `udevadm trigger` writes).
  const std::string uevent = SysDirOf(dev_id) + "/uevent";
  UniqueFd u(::open(uevent.c_str(), O_WRONLY | O_CLOEXEC));
  if (!u.valid() || !WriteWhole(u.get(), "change"))
    Log("device names: " + uevent + ": " + std::strerror(errno) +
        " (udev learns the name at the next event)");
}

void DeviceNames::Withdraw(int dev_id) {
  if (!usable_ || dev_id < 0) return;
  const std::string path = FileOf(dev_id);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    Log("device names: remove " + path + ": " + std::strerror(errno));
}

}  // namespace blkgate
