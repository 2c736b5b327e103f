// gate/mounts.h — the mount table, through libmount (no hand-parsed mountinfo).
//
// Control plane only. Thread-safe. The table is parsed again only when the kernel reports a
// change of the mount namespace (libmount monitor), not on every call.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "blkgate/result.h"

namespace blkgate {

struct MountEntry {
  std::string target;  // mount point
  std::string source;  // e.g. /dev/ublkb0
  std::string fstype;
};

// Every mount of the block device `devno` in this mount namespace, innermost first (reverse
// mount order, so unmounting in this order handles stacked mounts).
Result MountsOfDevice(dev_t devno, std::vector<MountEntry>* out);

// Block devices behind /, /boot, /boot/efi and active swap: the system/boot volumes.
Result SystemDevices(std::vector<dev_t>* out);

}  // namespace blkgate
