// gate/volume_device.h — one managed volume exposed as one ublk device (/dev/ublkbN).
//
// The control plane (daemon.cpp) builds a DeviceSpec from the Catalog and calls Create(); the
// data path (ublk_ctrl, ublk_queue, io_handler, backend_*) does the rest. Create() returns only
// once /dev/ublkbN exists. Queue threads read the volume's GateWord once per request and never
// take a lock the control plane holds.
//
// Thread-safety: Create/Stop/destructor from the control plane only. stats() from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "blkgate/gate.h"
#include "blkgate/model.h"
#include "blkgate/result.h"
#include "thread_priority.h"

namespace blkgate {

struct DeviceSpec {
  std::string name;          // volume name, for logs
  std::uint64_t size = 0;    // bytes, multiple of 512
  std::uint16_t queues = 1;  // >= 1 (the daemon resolves 0 = one per CPU)
  std::uint16_t depth = 128;
  BackendKind backend = BackendKind::file;
  std::vector<Segment> segments;   // Catalog::Segments(volume), covering [0, size)
  std::vector<std::string> paths;  // paths[i] = backing path of segments[i].drive
  int dev_id = -1;                 // requested ublk id (-1: any); restore asks for the old one
  bool read_only = false;          // initial UBLK_ATTR_READ_ONLY
  // A request parked because a drive is not ready fails with -ENODEV after this long. While
  // anything is parked the queue thread re-checks the gate word every few milliseconds.
  std::uint32_t park_timeout_ms = 30000;
  ThreadPriority priority;         // the queue threads' (whoever calls Create)
  gate::GateWord* gate = nullptr;  // owned by the daemon, outlives the device. REQUIRED.
  // Called on a queue thread when backing I/O of segment `index` fails with -err (not for
  // gate-refused requests). Must not block: the daemon sets a flag and wakes itself.
  std::function<void(int segment_index, int err)> on_backend_error;
};

// Counters summed over queues (relaxed; for tests and `volume show`).
struct DeviceStats {
  std::uint64_t reads = 0, writes = 0, flushes = 0, discards = 0, write_zeroes = 0;
  std::uint64_t refused = 0;  // completed by the gate with an error
  std::uint64_t backend_errors = 0;
  std::uint64_t parked = 0;  // currently parked (drive not ready)
};

class VolumeDevice {
 public:
  // ADD_DEV, SET_PARAMS, queue threads + FETCH_REQ, START_DEV, wait for /dev/ublkbN (libudev).
  // On failure nothing is left behind (device deleted, threads joined, fds closed).
  static Result Create(const DeviceSpec& spec, std::unique_ptr<VolumeDevice>* out);
  // Stops and deletes the device if Stop() was not called.
  virtual ~VolumeDevice() = default;

  virtual int dev_id() const = 0;
  std::string block_path() const { return "/dev/ublkb" + std::to_string(dev_id()); }
  // The QueueSync of each queue thread, for gate::synchronize().
  virtual std::span<gate::QueueSync* const> queue_syncs() const = 0;
  virtual DeviceStats stats() const = 0;
  // The counters of queue q alone (0 <= q < queue_syncs().size()); for tests that check
  // every queue carries load. Added by the data path; the default suits a single queue.
  virtual DeviceStats queue_stats(std::size_t q) const { return q == 0 ? stats() : DeviceStats{}; }
  // Flush every backing store of the volume (fdatasync / BLKFLSBUF). Control plane only.
  virtual Result FlushBacking() = 0;
  // STOP_DEV (in-flight requests complete first), join queue threads, DEL_DEV. Idempotent.
  virtual Result Stop() = 0;

 protected:
  VolumeDevice() = default;
};

// ublk features the running kernel reports (GET_FEATURES), or an error when ublk is absent.
Result ProbeUblk(std::uint64_t* features);

}  // namespace blkgate
