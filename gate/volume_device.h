// gate/volume_device.h — one managed volume exposed as one ublk device (/dev/ublkbN).
//
// The control plane (volume_registry.cpp) builds a DeviceSpec from the Catalog and calls
// Create(); the data path (ublk_ctrl, ublk_queue, io_handler, backend_*) does the rest. Create()
// returns only once /dev/ublkbN exists. Queue threads read the volume's GateWord once per request
// and never take a lock the control plane holds.
//
// Every device is created recoverable (recovery_plan.h): when the daemon dies the kernel keeps
// it, quiesced, and the next daemon's Create() for the same volume recovers it instead of
// creating a new one. Stop() removes a device for good; Leave() keeps it for the next daemon.
//
// Thread-safety: Create/Stop/Leave/destructor from the control plane only. stats() from any
// thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "blkgate/gate.h"
#include "blkgate/io_sample.h"
#include "blkgate/model.h"
#include "blkgate/result.h"
#include "queue_cpus.h"
#include "recovery_plan.h"
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
  // The ublk id the volume had (-1: any): the device found there is recovered, replaced or
  // left alone as PlanVolumeDevice decides; a new device asks for this id.
  int dev_id = -1;
  std::uint64_t recovery_flags = 0;  // UBLK_F_USER_RECOVERY* for ADD_DEV (RecoveryFlags)
  std::uint64_t owner = 0;           // the daemon's OwnerTag, stamped on new devices
  // Zero copy where the kernel and the backend allow it (ChooseDataPath); false: always copy.
  bool zero_copy = true;
  bool read_only = false;  // initial UBLK_ATTR_READ_ONLY
  // UBLK_ATTR_FUA: FUA writes reach us as such (served durable, backend.h's PieceIo::fua)
  // instead of the block layer's write + FLUSH of every drive.
  bool fua = true;
  // A request parked because a drive is not ready fails with -ENODEV after this long. While
  // anything is parked the queue thread re-checks the gate word every few milliseconds.
  std::uint32_t park_timeout_ms = 30000;
  ThreadPriority priority;                   // the queue threads' (whoever calls Create)
  QueueCpus queue_cpus = QueueCpus::spread;  // where the queue threads run (queue_cpus.h)
  gate::GateWord* gate = nullptr;            // owned by the daemon, outlives the device. REQUIRED.
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
  // With spec.dev_id >= 0, first looks at the device holding that id and acts as
  // PlanVolumeDevice decides (logged): one of ours, quiesced, with the volume's geometry is
  // recovered (START_USER_RECOVERY, queue threads + FETCH_REQ, END_USER_RECOVERY: same
  // /dev/ublkbN and dev_t; recovered() is then true); one of ours that cannot be recovered, or
  // a dead leftover, is stopped and deleted first; another server's is never touched (a new
  // device takes any free id). Then, unless recovered: ADD_DEV (stamped with spec.owner),
  // SET_PARAMS, queue threads + FETCH_REQ, START_DEV, wait for /dev/ublkbN (libudev). The gate
  // word must be right before the call: the first FETCH_REQ may deliver a request at once.
  // On failure nothing is left behind (a device we created deleted, threads joined, fds
  // closed).
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
  // Every counter and latency histogram of each queue (io_stats.h Snapshot), for `stats`.
  virtual std::vector<QueueIoSample> SampleIo() const { return {}; }
  // Flush every backing store of the volume (fdatasync / BLKFLSBUF). Control plane only.
  virtual Result FlushBacking() = 0;
  // STOP_DEV (in-flight requests complete first), join queue threads, DEL_DEV. Idempotent.
  virtual Result Stop() = 0;
  // For the next daemon: the queue threads finish the backing I/O in flight, commit what
  // completed and exit (parked requests stay uncommitted: the kernel re-issues them to the next
  // server); no STOP_DEV, no DEL_DEV. The kernel then quiesces the device: requests wait (or
  // fail, in fail mode) until the next daemon recovers it. Idempotent; Stop() after it is a
  // no-op.
  virtual Result Leave() = 0;

  // This device was taken over from a previous daemon, not created.
  virtual bool recovered() const = 0;
  // What happens to its requests while no daemon runs: RecoveryModeName of its flags.
  virtual std::string_view recovery_mode() const = 0;
  // How its queue threads move data: ToString(ChooseDataPath(kernel features, backend)).
  virtual std::string_view data_path() const = 0;

 protected:
  VolumeDevice() = default;
};

}  // namespace blkgate
