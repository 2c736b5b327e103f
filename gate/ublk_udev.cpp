// gate/ublk_udev.cpp — see ublk_udev.h.
#include "ublk_udev.h"

#include <libudev.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "io_handler.h"  // MonotonicNs

namespace blkgate::ublk {

namespace {
struct UdevDeleter {
  void operator()(udev* u) const { udev_unref(u); }
  void operator()(udev_monitor* m) const { udev_monitor_unref(m); }
  void operator()(udev_device* d) const { udev_device_unref(d); }
};
template <class T>
using UdevPtr = std::unique_ptr<T, UdevDeleter>;

bool Exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}
}  // namespace

Result WaitForDevNode(const std::string& devnode, const char* subsystem, int timeout_ms) {
  UdevPtr<udev> u(udev_new());
  if (!u) return Result::FromErrno(errno ? errno : ENOMEM, "udev_new");
  UdevPtr<udev_monitor> mon(udev_monitor_new_from_netlink(u.get(), "kernel"));
  if (!mon) return Result::FromErrno(errno ? errno : EPERM, "udev monitor on kernel uevents");
  udev_monitor_filter_add_match_subsystem_devtype(mon.get(), subsystem, nullptr);
  int r = udev_monitor_enable_receiving(mon.get());
  if (r < 0) return Result::FromErrno(-r, "udev monitor: enable receiving");
  // Armed: from here on an add event can't slip by unseen.
  if (Exists(devnode)) return Result::Ok();
  const int fd = udev_monitor_get_fd(mon.get());
  const std::uint64_t deadline = io::MonotonicNs() + std::uint64_t(timeout_ms) * 1000000ull;
  for (;;) {
    const std::uint64_t now = io::MonotonicNs();
    if (now >= deadline) break;
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>((deadline - now) / 1000000 + 1));
    if (n < 0 && errno != EINTR) return Result::FromErrno(errno, "poll udev monitor");
    if (n > 0) {
      // Drain what's there; any event may be ours (devtmpfs creates the node before the event).
      while (UdevPtr<udev_device> d{udev_monitor_receive_device(mon.get())}) {
      }
    }
    if (Exists(devnode)) return Result::Ok();
  }
  return Exists(devnode) ? Result::Ok()
                         : Result::NotReady(devnode + " did not appear within " +
                                            std::to_string(timeout_ms) + " ms");
}

}  // namespace blkgate::ublk
