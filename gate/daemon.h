// gate/daemon.h — the blkgate daemon: start-up, the main loop and shutdown, wiring the parts.
//
// Owns, in construction order: the state store, the volume registry (runtimes and devices),
// the hook runner, the LinuxPlatform, the Catalog and the Controller (the seeds' state machine),
// the Dispatcher (registry-driven calls, claims, the control lock) and the ControlServer (the
// socket and its connection threads). Destruction runs in reverse: the server joins its
// threads before anything they use goes away.
//
// Threads: the main thread runs Start() and Run() (signals, shutdown) and never waits for the
// control lock while serving, so a long call (a hook) never delays SIGTERM's handling;
// the backend-error thread marks drives failed under the control lock (HandleBackendErrors);
// connection threads run calls through the Dispatcher; queue threads serve I/O and only read
// gate words and set failed-drive bits (VolumeRegistry).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "blkgate/controller.h"
#include "blkgate/model.h"
#include "blkgate/result.h"
#include "blkgate/state_store.h"
#include "blkgate/unique_fd.h"
#include "control_server.h"
#include "dispatch.h"
#include "hooks.h"
#include "platform_linux.h"
#include "queue_cpus.h"
#include "recovery_plan.h"
#include "thread_priority.h"
#include "volume_registry.h"
#include "watchdog.h"

namespace blkgate {

struct DaemonOptions {
  std::string state_dir = "/var/lib/blkgate";
  std::string socket_path;  // empty: state_dir + "/control.sock"
  std::string group;        // members may use the socket besides root
  std::uint32_t park_timeout_ms = 30000;
  unsigned hook_timeout_s = 30;
  // Control threads (one per connection) run below the queue threads, so control work yields
  // the CPU to I/O (bench/README.md: a toggle costs the daemon milliseconds of CPU, which at
  // the queue threads' priority came out of other volumes' I/O on a busy machine):
  // SCHED_IDLE when control_idle, and control_nice (0..19) nice levels above the data path's.
  // Hooks run at that nice value with the normal scheduling class.
  bool control_idle = true;
  int control_nice = 10;
  // What requests to our devices do while no daemon runs (after a crash, or between
  // `shutdown --keep-devices` and the next start): wait, or fail (recovery_plan.h).
  CrashMode on_crash = CrashMode::hold;
  // The control socket's bounds (ControlServerOptions): connections at once (one kept for
  // root), seconds to complete a request (0: no limit), seconds for a client to take a reply.
  unsigned max_clients = 64;
  unsigned idle_timeout_s = 60;
  unsigned send_timeout_s = 10;
  // Zero copy where the kernel and the backend allow it (false: --data-path copy).
  bool zero_copy = true;
  // Where queue threads run (queue_cpus.h; --queue-cpus).
  QueueCpus queue_cpus = QueueCpus::spread;
  // New devices advertise FUA (--fua on|off; DeviceSpec::fua).
  bool fua = true;
  // Where each device's volume name is published for the udev rule (device_names.h); empty:
  // nowhere.
  std::string names_dir = "/run/blkgate/devices";
};

class Daemon {
 public:
  explicit Daemon(DaemonOptions opts);
  ~Daemon();

  // Checks the state dir (created 0700 when missing) and DIR/hooks by strict modes
  // (strict_modes.h: permission_denied naming the path and the fix, nothing changed), locks the
  // state dir, loads the state (a corrupt file stops the start), checks ublk,
  // starts every volume's device, restores mounts and claims, and listens. Then, under
  // systemd (Type=notify), READY=1 with a STATUS= summary, and the watchdog thread when
  // WatchdogSec= asks for one.
  Result Start();
  // Serves until SIGTERM/SIGINT (which must be blocked in every thread before Start) or a
  // `shutdown` call, then stops (STOPPING=1 to systemd first): no new calls, connections joined,
  // every device stopped and deleted, or with `shutdown --keep-devices` left for the next daemon to
  // recover. Returns the process exit status.
  int Run();

 private:
  // The state dir made absolute, created when missing, and it and DIR/hooks checked.
  Result CheckStrictModes();
  // One line for the service manager's STATUS=: "serving 3 volumes (1 offline, 0 stopped)
  // on /run/blkgate/control.sock". Takes the control lock.
  std::string Summary();
  // Marks the drives whose backing I/O failed (queue threads reported them).
  void HandleBackendErrors();
  // The backend-error thread: HandleBackendErrors at each wake_ until errors_quit_.
  void WatchBackendErrors();
  // Ends and joins the backend-error thread (a call it waits behind finishes first).
  void StopBackendErrors();

  DaemonOptions opts_;
  ThreadPriority data_priority_;  // the main thread's at construction: queue threads run at it
  UniqueFd lock_;                 // flock on DIR/lock: one daemon per state dir
  UniqueFd wake_;                 // eventfd: queue threads report backend errors
  UniqueFd errors_quit_;          // eventfd: the backend-error thread ends
  std::thread errors_thread_;
  UniqueFd shutdown_;                      // eventfd: a `shutdown` call asked the main loop to stop
  std::atomic<bool> keep_devices_{false};  // ... with --keep-devices
  StateStore store_;
  HookTokens tokens_;
  std::unique_ptr<VolumeRegistry> volumes_;
  std::unique_ptr<HookRunner> hooks_;
  std::unique_ptr<LinuxPlatform> platform_;
  // State-change events to `monitor` subscribers; outlives the controller and the server.
  std::unique_ptr<EventBus> events_;
  Catalog catalog_;  // only through controller_, under the dispatcher's control lock
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<ControlServer> server_;
  // Answers systemd's WatchdogSec= while every queue thread is alive (runs only when asked).
  std::unique_ptr<ServiceWatchdog> watchdog_;
};

}  // namespace blkgate
