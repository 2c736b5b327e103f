// gate/service_notify.cpp — see service_notify.h.
#include "service_notify.h"

#ifdef BLKGATE_HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace blkgate::service {

#ifdef BLKGATE_HAVE_LIBSYSTEMD
bool Notify(const std::string& state) {
  // unset_environment = 0: the hooks get a minimal environment of their own (hooks.h), and
  // every later message needs $NOTIFY_SOCKET again.
  return sd_notify(0, state.c_str()) > 0;
}

std::chrono::microseconds WatchdogTimeout() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0) return std::chrono::microseconds(0);
  return std::chrono::microseconds(usec);
}

bool Supported() {
  return true;
}
#else
bool Notify(const std::string&) {
  return false;
}

std::chrono::microseconds WatchdogTimeout() {
  return std::chrono::microseconds(0);
}

bool Supported() {
  return false;
}
#endif

}  // namespace blkgate::service
