// gate/device_names.cpp — see device_names.h.
#include "device_names.h"

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

void DeviceNames::Publish(int dev_id, const std::string& volume) {
  if (!usable_ || dev_id < 0) return;
  const std::string path = FileOf(dev_id);
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!fd.valid() || !WriteWhole(fd.get(), "BLKGATE_VOLUME=" + volume + "\n")) {
      Log("device names: write " + tmp + ": " + std::strerror(errno));
      ::unlink(tmp.c_str());
      return;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Log("device names: rename " + tmp + ": " + std::strerror(errno));
    ::unlink(tmp.c_str());
    return;
  }
  // udev applies the rules again, now with the file (what `udevadm trigger` writes).
  const std::string uevent = sys_block_ + "/ublkb" + std::to_string(dev_id) + "/uevent";
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
