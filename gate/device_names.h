// gate/device_names.h — tells udev which volume each ublk device serves, for the stable names
// /dev/blkgate/NAME and /dev/disk/by-id/blkgate-NAME (udev/60-blkgate.rules).
//
// A ublk device carries no name the kernel would show udev, so the daemon writes one file per
// running device, DIR/ublkbN holding "BLKGATE_VOLUME=NAME", which the rule reads with
// IMPORT{file}, and then asks udev to run its rules on the device again (a "change" uevent:
// the device's add event may have come before the file). The file is written when a volume's
// device starts or is recovered, and removed once the device is deleted (its remove event takes
// udev's symlinks away); a device left for the next daemon keeps its file, so the name stays
// right across restarts, crashes and handovers. The names are one name space per machine: a
// volume whose name another running device already has (a volume of the same name in another
// daemon, with another state dir) is not published, so the first device keeps its links and
// /dev/blkgate/NAME never moves to another daemon's volume; the log names both devices.
// DIR (default /run/blkgate/devices) is created
// 0755 when missing and must be safe as the state dir is (strict_modes.h): root's, not
// writable by others, else nothing is published and the log says why. Failures are logged,
// never fatal: the names are a convenience, the volume serves without them.
//
// Thread-safety: called by VolumeRegistry under its mutex; no state besides the directory.
#pragma once

#include <string>

namespace blkgate {

class DeviceNames {
 public:
  // dir empty: publishes nothing. sys_block: where the block devices' uevent files are.
  explicit DeviceNames(std::string dir, std::string sys_block = "/sys/block");

  // Creates and checks the directory; false (logged) when it cannot be used.
  bool Prepare();
  // Device `dev_id` serves `volume`: its file is written (atomically), then udev is asked to
  // apply the rules again. Returns false (logged) when nothing was published: the directory is
  // unusable, the write failed, or another existing device's file names `volume` (the name is
  // taken on this machine; that device keeps it).
  bool Publish(int dev_id, const std::string& volume);
  // The id of an existing device other than `except` whose file names `volume`, or -1. A file
  // whose device is gone (a crash before its Withdraw) does not count.
  int HolderOf(const std::string& volume, int except) const;
  // Device `dev_id` is gone: its file is removed.
  void Withdraw(int dev_id);
  // The file of device `dev_id`.
  std::string FileOf(int dev_id) const;

 private:
  // Device `dev_id`'s directory under sys_block (it exists while the device does).
  std::string SysDirOf(int dev_id) const;
  // Asks udev to apply its rules to device `dev_id` again (a "change" uevent).
  void Retrigger(int dev_id) const;

  std::string dir_;
  std::string sys_block_;
  bool usable_ = false;
};

}  // namespace blkgate
