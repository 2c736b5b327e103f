// gate/service_notify.h — the daemon's messages to its service manager (sd_notify(3)):
// READY=1 once every volume is restored and the socket listens, STATUS= lines, STOPPING=1,
// and the watchdog's WATCHDOG=1 (watchdog.h). Built on libsystemd when meson found it
// (-Dsystemd=auto|enabled); without it every call is a no-op that returns false.
//
// Thread-safety: any thread (sd_notify opens a datagram socket per call).
#pragma once

#include <chrono>
#include <string>

namespace blkgate::service {

// Sends `state` (newline-separated assignments, "READY=1\nSTATUS=serving 2 volumes") to
// $NOTIFY_SOCKET. False when no manager listens (not started by systemd, or no libsystemd) or
// the send failed; the daemon works the same either way.
bool Notify(const std::string& state);
// The manager's watchdog timeout for this process (WatchdogSec=, through WATCHDOG_USEC and
// WATCHDOG_PID), zero when it asked for none.
std::chrono::microseconds WatchdogTimeout();
// Whether this build talks to a service manager at all.
bool Supported();

}  // namespace blkgate::service
