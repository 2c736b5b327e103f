// gate/daemon.h — the blkgate daemon's control plane.
//
// Owns the Catalog (the objects and their persisted state), one VolumeDevice per volume, the
// Controller (the seeds' state machine) with its LinuxPlatform, and the control socket. Each
// client connection is served on its own thread. Calls are serialised by one mutex that queue
// threads never touch (they only read their volume's GateWord). Before waiting for it, a call
// claims the objects it works on: a second call on a claimed object gets
// another-call-in-progress at once (invalid-state for resource calls: the object is pending),
// and a call from inside a running hook gets reentrant-call — never a wait, never a deadlock.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "blkgate/controller.h"
#include "blkgate/model.h"
#include "blkgate/protocol.h"
#include "blkgate/result.h"
#include "blkgate/state_store.h"
#include "platform_linux.h"
#include "thread_priority.h"

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
};

class Daemon {
 public:
  explicit Daemon(DaemonOptions opts);
  ~Daemon();

  // Locks the state dir, loads the state (a corrupt file stops the start), checks ublk,
  // recreates every volume's device, restores mounts and claims, and listens.
  Result Start();
  // Serves until SIGTERM/SIGINT (which must be blocked in every thread before Start), then stops
  // and deletes every device. Returns the process exit status.
  int Run();

  // Handles one request. Thread-safe.
  protocol::Reply Handle(const protocol::Request& req);

 private:
  using Json = nlohmann::json;
  using Handler = Result (Daemon::*)(const Json& args, Json* data);

  // ---- operations (REQUIRES: mu_ held)
  Result OpPing(const Json&, Json*);
  Result OpList(const Json&, Json*);
  Result OpRefresh(const Json&, Json*);
  Result OpDriveAdd(const Json&, Json*);
  Result OpDriveList(const Json&, Json*);
  Result OpDriveShow(const Json&, Json*);
  Result OpDriveRemove(const Json&, Json*);
  Result OpDriveSetStatus(const Json&, Json*);
  Result OpDiskCreate(const Json&, Json*);
  Result OpDiskList(const Json&, Json*);
  Result OpDiskShow(const Json&, Json*);
  Result OpDiskDelete(const Json&, Json*);
  Result OpDiskOffline(const Json&, Json*);
  Result OpDiskOnline(const Json&, Json*);
  Result OpDiskSetReadOnly(const Json&, Json*);
  Result OpVolumeCreate(const Json&, Json*);
  Result OpVolumeList(const Json&, Json*);
  Result OpVolumeShow(const Json&, Json*);
  Result OpVolumeDelete(const Json&, Json*);
  Result OpVolumeOffline(const Json&, Json*);
  Result OpVolumeOnline(const Json&, Json*);
  Result OpVolumeDismount(const Json&, Json*);
  Result OpVolumeMount(const Json&, Json*);
  Result OpPathAdd(const Json&, Json*);
  Result OpPathRemove(const Json&, Json*);
  Result OpPathList(const Json&, Json*);
  Result OpResourceOffline(const Json&, Json*);
  Result OpResourceOnline(const Json&, Json*);

  // ---- helpers (REQUIRES: mu_ held)
  Result Commit(Catalog next);  // persist, then make it current; on failure nothing changes
  Result StartDevice(const Volume& v, VolumeRuntime* rt);
  VolumeRuntime* RuntimeOf(const std::string& volume);
  Result ShowVolume(const std::string& name, Json* data);
  Result ShowDisk(const std::string& name, Json* data);
  Json DriveJson(const Drive& d) const;
  Json DiskJson(const Disk& k) const;
  Json VolumeJson(const Volume& v) const;
  std::uint16_t EffectiveQueues(const Volume& v) const;
  void HandleBackendErrors();

  // The objects a request works on ("volume/v0", ...), from the last committed catalog.
  std::vector<std::string> FootprintOf(const protocol::Request& req);

  void ServeConnection(int fd);
  bool PeerAllowed(int fd, std::string* why) const;

  DaemonOptions opts_;
  ThreadPriority data_priority_;  // the main thread's at Start: queue threads run at this
  StateStore store_;
  HookTokens tokens_;
  std::mutex mu_;  // the catalog, runtimes_ and every call's effects
  Catalog catalog_;
  std::map<std::string, std::unique_ptr<VolumeRuntime>, std::less<>> runtimes_;
  std::unique_ptr<LinuxPlatform> platform_;
  std::unique_ptr<Controller> controller_;

  std::mutex claims_mu_;  // claimed_ and snapshot_; never held while waiting for mu_
  std::set<std::string> claimed_;
  Catalog snapshot_;  // copy of catalog_ after the last call, for footprints

  int lock_fd_ = -1;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: queue threads report backend errors
  gid_t group_gid_ = static_cast<gid_t>(-1);
  std::atomic<bool> stopping_{false};
};

}  // namespace blkgate
