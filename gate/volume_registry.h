// gate/volume_registry.h — the one owner of every volume's runtime: its gate word, its ublk
// device (VolumeDevice), its claim and the failed-drive bits its queue threads set.
//
// Threads: control threads (through the Controller's Platform, under the dispatcher's control
// lock) and the main thread (backend errors, shutdown) call in; every method takes mu_, which
// queue threads never touch. Queue threads only read the GateWord and set failed_drives bits
// (atomics), then write the wake eventfd. A runtime's GateWord outlives its device.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "blkgate/controller.h"
#include "blkgate/gate.h"
#include "blkgate/model.h"
#include "blkgate/mutex.h"
#include "blkgate/unique_fd.h"
#include "device_names.h"
#include "thread_priority.h"
#include "volume_device.h"

namespace blkgate {

struct VolumeRegistryOptions {
  std::uint32_t park_timeout_ms = 30000;
  ThreadPriority data_priority;      // queue threads run at this, whoever creates them
  int wake_fd = -1;                  // eventfd written when a queue thread reports a backend error
  std::uint64_t recovery_flags = 0;  // UBLK_F_USER_RECOVERY* every new device gets
  std::uint64_t owner = 0;           // OwnerTag of the state dir, stamped on every new device
  bool zero_copy = true;             // new devices may use zero copy (DeviceSpec::zero_copy)
  std::string names_dir;             // device_names.h: where udev learns each device's volume
  QueueCpus queue_cpus = QueueCpus::spread;  // DeviceSpec::queue_cpus
  bool fua = true;                           // DeviceSpec::fua
};

class VolumeRegistry {
 public:
  // Prepares the device names' directory (device_names.h; logged when unusable).
  explicit VolumeRegistry(VolumeRegistryOptions o);
  ~VolumeRegistry();  // stops every device still running

  // Starts a device for v as `c` describes it (segments, backing paths, gate word), at ublk id
  // v.dev_id: the device a previous daemon left there is recovered when it is ours and fits
  // (VolumeDevice::Create); any other id when another server holds it. The gate word is
  // published before the first FETCH_REQ; the device's volume name for udev once it runs. On
  // failure the runtime stays, without a device and with the reason (Describe shows it).
  Result Start(const Catalog& c, const Volume& v, int* dev_id) EXCLUDES(mu_);
  // Stops and deletes the device (in-flight requests complete first), drops the claim and
  // forgets the runtime.
  void Stop(const std::string& volume) EXCLUDES(mu_);
  // Stops every device (shutdown) but those of the volumes in `keep`, which are left for the
  // next daemon as LeaveAll does (a volume still in use); false when one could not be stopped
  // or left (logged).
  bool StopAll(const std::set<std::string>& keep) EXCLUDES(mu_);
  // Leaves every device for the next daemon to recover (shutdown --keep-devices): claims
  // dropped, queue threads drained and gone, devices kept (VolumeDevice::Leave). False when
  // one could not be left cleanly (logged).
  bool LeaveAll() EXCLUDES(mu_);
  // Deletes the devices stamped with our owner tag that no volume claims (ids not in
  // `claimed`): left by a crash between the steps of a create or a delete. Each is named in the
  // log; devices of other servers stay. Call at start, before any device starts.
  void RemoveOrphans(const std::set<int>& claimed) EXCLUDES(mu_);

  // The running device's block path; empty when none.
  std::string BlockPath(const std::string& volume) EXCLUDES(mu_);
  // Hold or release the O_EXCL claim on the volume's block device (logged on failure).
  void Claim(const std::string& volume, bool hold) EXCLUDES(mu_);
  // Publish the gate word; with wait, also the grace period and the drain (gate.h).
  void PublishGate(const std::string& volume, std::uint64_t word, bool wait) EXCLUDES(mu_);
  // Device facts for views (mounts are the caller's to add).
  DeviceInfo Describe(const Volume& v) EXCLUDES(mu_);
  // Every queue's counters and latency histograms (VolumeDevice::SampleIo); not_ready when the
  // volume has no running device.
  Result SampleIo(const std::string& volume, std::vector<QueueIoSample>* out) EXCLUDES(mu_);
  // (volume, drive-position bits) of every volume whose queues reported a backend error since
  // the last call; the bits are cleared.
  std::vector<std::pair<std::string, std::uint32_t>> TakeFailedDrives() EXCLUDES(mu_);

  // The queues a volume gets: its own count, or one per CPU (at most kMaxQueues).
  static std::uint16_t EffectiveQueues(const Volume& v);

 private:
  struct Runtime {
    std::unique_ptr<gate::GateWord> gate = std::make_unique<gate::GateWord>();
    std::unique_ptr<VolumeDevice> device;
    std::atomic<std::uint32_t> failed_drives{0};  // bits by drive position, set by queue threads
    std::string last_error;                       // why the device is not running
    UniqueFd claim;                               // O_EXCL open holding the device unmountable
  };
  Runtime* Find(const std::string& volume) REQUIRES(mu_);
  // Stops (keep: leaves) rt's device and drops its claim; *ok = false on a failure (logged).
  static void StopRuntime(const std::string& name, Runtime* rt, bool keep, bool* ok);

  const VolumeRegistryOptions o_;
  Mutex mu_;
  DeviceNames names_ GUARDED_BY(mu_);
  std::map<std::string, std::unique_ptr<Runtime>, std::less<>> runtimes_ GUARDED_BY(mu_);
};

}  // namespace blkgate
