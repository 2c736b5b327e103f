// gate/daemon.h — the blkgate daemon's control plane.
//
// Owns the Catalog (the objects and their persisted state), one VolumeDevice per volume, and the
// control socket. Each client connection is served on its own thread; the catalog is guarded by
// one mutex that queue threads never touch (they only read their volume's GateWord).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "blkgate/gate.h"
#include "blkgate/model.h"
#include "blkgate/protocol.h"
#include "blkgate/result.h"
#include "blkgate/state_store.h"
#include "volume_device.h"

namespace blkgate {

struct DaemonOptions {
  std::string state_dir = "/var/lib/blkgate";
  std::string socket_path;      // empty: state_dir + "/control.sock"
  std::string group;            // members may use the socket besides root
  std::uint32_t park_timeout_ms = 30000;
};

class Daemon {
 public:
  explicit Daemon(DaemonOptions opts);
  ~Daemon();

  // Locks the state dir, loads the state (a corrupt file stops the start), checks ublk,
  // recreates every volume's device, and listens. Returns a Result naming what failed.
  Result Start();
  // Serves until SIGTERM/SIGINT (which must be blocked in every thread before Start), then stops
  // and deletes every device. Returns the process exit status.
  int Run();

  // Handles one request (also the unit of the protocol tests). Thread-safe.
  protocol::Reply Handle(const protocol::Request& req);

 private:
  // Per-volume runtime: the gate word must outlive the device that reads it.
  struct Runtime {
    std::unique_ptr<gate::GateWord> gate = std::make_unique<gate::GateWord>();
    std::unique_ptr<VolumeDevice> device;
    std::atomic<std::uint32_t> failed_drives{0};  // bits by drive position, set by queue threads
    std::string last_error;                       // why the device is not running
  };

  using Json = nlohmann::json;
  using Handler = Result (Daemon::*)(const Json& args, Json* data);

  // ---- operations (REQUIRES: mu_ held)
  Result OpPing(const Json&, Json*);
  Result OpList(const Json&, Json*);
  Result OpDriveAdd(const Json&, Json*);
  Result OpDriveList(const Json&, Json*);
  Result OpDriveShow(const Json&, Json*);
  Result OpDriveRemove(const Json&, Json*);
  Result OpDiskCreate(const Json&, Json*);
  Result OpDiskList(const Json&, Json*);
  Result OpDiskShow(const Json&, Json*);
  Result OpDiskDelete(const Json&, Json*);
  Result OpVolumeCreate(const Json&, Json*);
  Result OpVolumeList(const Json&, Json*);
  Result OpVolumeShow(const Json&, Json*);
  Result OpVolumeDelete(const Json&, Json*);

  // ---- helpers (REQUIRES: mu_ held)
  Result Commit(Catalog next);  // persist, then make it current; on failure nothing changes
  Result StartDevice(const Volume& v, Runtime* rt);
  void PublishGate(const Volume& v);
  Json DriveJson(const Drive& d) const;
  Json DiskJson(const Disk& k) const;
  Json VolumeJson(const Volume& v) const;
  std::uint16_t EffectiveQueues(const Volume& v) const;
  void HandleBackendErrors();

  void ServeConnection(int fd);
  bool PeerAllowed(int fd, std::string* why) const;

  DaemonOptions opts_;
  StateStore store_;
  std::mutex mu_;
  Catalog catalog_;
  std::map<std::string, std::unique_ptr<Runtime>, std::less<>> runtimes_;
  int lock_fd_ = -1;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: queue threads report backend errors
  gid_t group_gid_ = static_cast<gid_t>(-1);
  std::atomic<bool> stopping_{false};
};

}  // namespace blkgate
