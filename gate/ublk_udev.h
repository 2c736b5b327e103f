// gate/ublk_udev.h — waiting for a device node with libudev, without udevd.
//
// ublk's char (/dev/ublkcN) and block (/dev/ublkbN) nodes are created by devtmpfs when the
// kernel adds the devices. We watch the kernel's own uevents (libudev monitor on the "kernel"
// netlink source: no udevd needed), arm the monitor first and only then look for the node, so
// an event between the look and the wait can't be missed. No sleeping loop.
//
// Thread-safety: any control-plane thread; blocks up to timeout_ms.
#pragma once

#include <string>

#include "blkgate/result.h"

namespace blkgate::ublk {

// Ok once `devnode` exists; not_ready after timeout_ms; io_error if uevents can't be watched.
// `subsystem` filters events ("block", "ublk-char").
Result WaitForDevNode(const std::string& devnode, const char* subsystem, int timeout_ms);

}  // namespace blkgate::ublk
