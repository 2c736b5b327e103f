// blkgate/controller.h — the gate's state machine: the seeds' methods mapped onto the Catalog.
//
// Pure: every effect on the world (mounts, claims, the gate word, hooks, persistence) goes
// through a Platform, which the daemon implements with syscalls and the unit tests with a fake.
// Each operation either succeeds or returns a named Result with the Catalog unchanged (effects
// already made on the world are undone where the seeds require it, e.g. a disk offline that one
// volume blocks remounts what it had dismounted).
//
// Thread-safety: none. The daemon serialises operations; it also keeps a second call on the same
// object out (another-call-in-progress) before calling in here.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "blkgate/events.h"
#include "blkgate/io_sample.h"
#include "blkgate/model.h"
#include "blkgate/result.h"

namespace blkgate {

enum class Kind : std::uint8_t { drive, disk, volume };
std::string_view ToString(Kind k) noexcept;
Result ParseKind(std::string_view s, Kind* out);
// "volume/v0" -> (volume, "v0"); invalid_argument otherwise.
Result ParseObjectRef(std::string_view ref, Kind* kind, std::string* name);

// The generic resource states of cluster-resource-offline.md.
enum class ResourceState : std::uint8_t {
  online,
  offline,
  failed,
  online_pending,
  offline_pending
};
std::string_view ToString(ResourceState s) noexcept;

// Hook events.
enum class HookEvent : std::uint8_t { pre_offline, post_offline, pre_online, post_online };
std::string_view ToString(HookEvent e) noexcept;

// What the platform knows of a volume's running device, for views.
struct DeviceInfo {
  bool running = false;  // a device serves the volume
  std::string device;    // "/dev/ublkbN" when running
  int dev_id = -1;
  std::uint16_t queues = 0;  // effective (the volume's, or one per CPU)
  std::vector<std::string> mounts;
  // Counters in display order: reads, writes, flushes, discards, write_zeroes, refused,
  // backend_errors, parked. Empty when not running.
  std::vector<std::pair<std::string, std::uint64_t>> stats;
  std::string error;  // why it is not running, when it is not
  // What its requests do while no daemon runs: "hold-reissue", "hold", "fail" or "none".
  std::string recovery;
  bool recovered = false;  // taken over from a previous daemon at this start, not created
};

// The world as the controller sees it. Volume arguments always exist in the Catalog.
class Platform {
 public:
  virtual ~Platform() = default;

  // Mount points of the volume's block device (innermost first). Empty when it has no device.
  virtual Result ListMounts(const Volume& v, std::vector<std::string>* targets) = 0;
  // ok when the mount at `target` could be unmounted now; device_in_use when busy.
  // Must not change anything.
  virtual Result ProbeBusy(const std::string& target) = 0;
  // Plain unmount of v's mount at `target`; device_in_use when busy. Never through a symbolic
  // link, and only when what is mounted there is v's device (invalid_state otherwise).
  virtual Result Unmount(const Volume& v, const std::string& target) = 0;
  // Forced: shut the file system down (flushing what was written) so open handles fail, then
  // detach it. not_supported when the file system has no shutdown. As Unmount: never through a
  // symbolic link, only v's own mount.
  virtual Result ForceUnmount(const Volume& v, const std::string& target) = 0;
  // Mount the volume's device at the access path (type detected) with its options; nosuid and
  // nodev always. The directory is resolved without following a symbolic link at any
  // component, and the mount made on the directory so opened, never on a path looked up again:
  // permission_denied naming the component that is a symbolic link, not_found/invalid_argument
  // for a missing path or one that is not a directory, io_error when the mount fails.
  virtual Result Mount(const Volume& v, const AccessPath& target) = 0;
  // Check that `dir` is an existing absolute directory reached without a symbolic link at any
  // component (permission_denied / not_found / invalid_argument, as Mount).
  virtual Result CheckDirectory(const std::string& dir) = 0;
  // Hold (or release) an exclusive claim on the volume's block device so nothing can mount it.
  // Best effort: failures are logged by the platform.
  virtual void Claim(const Volume& v, bool hold) = 0;
  // Publish the volume's new gate word and, if `wait`, wait for the grace period and the drain
  // of in-flight backing I/O (gate::synchronize).
  virtual void PublishGate(const Volume& v, std::uint64_t word, bool wait) = 0;
  // Make the block device read-only (BLKROSET) or writable.
  virtual Result SetDeviceReadOnly(const Volume& v, bool read_only) = 0;
  // Flush the drive's caches (fdatasync; BLKFLSBUF on block devices).
  virtual Result FlushDrive(const Drive& d) = 0;
  // Current identity and size of a backing store (regular file or block device): not_found
  // when missing, invalid_argument when it is neither.
  virtual Result InspectBacking(const std::string& path, DriveIdentity* id,
                                std::uint64_t* size) = 0;
  // Create a regular file of `size` bytes at path, durably; already_exists when anything is
  // there. On failure nothing is left.
  virtual Result CreateBackingFile(const std::string& path, std::uint64_t size) = 0;
  // Undo CreateBackingFile (best effort).
  virtual void RemoveBackingFile(const std::string& path) = 0;
  // Start a device serving v as described by catalog `c` (v need not be in the current one),
  // with its gate word set from c before the first request. *dev_id: the ublk id it got. A
  // device a previous daemon left at v.dev_id is recovered (Describe(v).recovered).
  virtual Result StartDevice(const Catalog& c, const Volume& v, int* dev_id) = 0;
  // Stop and delete v's device (in-flight requests complete first), dropping its claim.
  virtual void StopDevice(const Volume& v) = 0;
  // ok when v's device could be deleted now: device_in_use when mounted or held open
  // exclusively by anyone. Changes nothing.
  virtual Result ProbeDeviceUnused(const Volume& v) = 0;
  virtual DeviceInfo Describe(const Volume& v) = 0;
  // One sample of the I/O counters of each of v's queues (io_sample.h), read without stopping
  // them; not_ready when v has no running device.
  virtual Result SampleIo(const Volume& v, std::vector<QueueIoSample>* queues) = 0;
  // Whether the volume's device backs /, /boot, /boot/efi or active swap.
  virtual bool IsSystemDevice(const Volume& v) = 0;
  // Run the hooks for an event. For pre_* events a non-ok Result vetoes (message names the hook):
  // permission_denied when a hook or the hooks dir is unsafe (no hook ran), passed on as is.
  virtual Result RunHooks(HookEvent e, Kind kind, const std::string& name, ResourceState state) = 0;
  // Durably store the catalog. The controller only makes `next` current after this succeeds.
  virtual Result Persist(const Catalog& next) = 0;
  // Ask the daemon to stop once the current call has returned: no call starts after it. With
  // keep_devices every device is left for the next daemon to recover (its requests wait),
  // otherwise each is stopped and deleted as on SIGTERM.
  virtual Result RequestShutdown(bool keep_devices) = 0;
};

// Kind/name pairs an operation on (kind, name) works on, for the daemon's busy claims: the
// object itself plus its dependents (a disk's volumes; a drive's disk and its volumes).
std::vector<std::string> Footprint(const Catalog& c, Kind kind, const std::string& name);

// The resource state of an object of catalog c (offline for one that does not exist).
ResourceState StateIn(const Catalog& c, Kind kind, const std::string& name);

struct Change {
  Kind kind;
  std::string name;
  ResourceState state;
};

class Controller {
 public:
  Controller(Platform* p, Catalog* c) : p_(p), c_(c) {}

  // --- objects (create and delete; catalog rules in model.h)
  // Adds drive `name` backed by `path`; with a create_size the file is created when missing
  // (and removed again if the call fails). invalid_argument for a size that is not a non-zero
  // multiple of 512 or differs from an existing file's.
  Result DriveAdd(const std::string& name, const std::string& path,
                  std::optional<std::uint64_t> create_size);
  Result DiskCreate(const std::string& name, std::vector<std::string> drives);
  Result DiskDelete(const std::string& name);
  // Creates the volume and starts its device; without an offset (auto_offset) it takes the
  // lowest free 1 MiB-aligned gap. The device starts before the catalog is persisted and is
  // stopped again when persisting fails.
  Result VolumeCreate(Volume v, bool auto_offset);
  // device_in_use while mounted or open exclusively; otherwise forgets it and stops its device.
  Result VolumeDelete(const std::string& name);

  // --- volumes (volume-offline.md, volume-dismount.md)
  Result VolumeOffline(const std::string& name, bool force);
  Result VolumeOnline(const std::string& name);
  Result VolumeDismount(const std::string& name, bool force, bool permanent);
  Result VolumeMount(const std::string& name);
  // Records `dir` (absolute, normalised: the registry's edge did it) as an access path of the
  // volume mounted with `options`, and mounts it there (and every other access path not
  // mounted yet). Nothing changes when the mount or persisting fails.
  Result PathAdd(const std::string& name, const std::string& dir, const MountOptions& options);
  Result PathRemove(const std::string& name, const std::string& dir);

  // --- disks (disk-offline.md)
  Result DiskOffline(const std::string& name, bool force);
  Result DiskOnline(const std::string& name);
  Result DiskSetReadOnly(const std::string& name, bool read_only);

  // --- drives (drive-set-status.md)
  Result DriveSetStatus(const std::string& name, std::string_view status);
  // The gate noticed backing I/O fail: mark the drive failed (no hooks veto this).
  Result DriveFailed(const std::string& name);
  // Forget a drive (catalog remove) and remember it was deleted: later calls -> object-deleted.
  Result DriveRemove(const std::string& name);
  // Re-enumerate every drive's identity and size; clears cache-corrupt, then starts the volumes
  // Restore held back (as Restore does; one that cannot start is a note).
  Result Refresh(std::vector<std::string>* changed);

  // --- the daemon
  // Stop the daemon after this call (planned handover with keep_devices: every device stays,
  // quiesced, for the next daemon to recover; otherwise SIGTERM's clean stop).
  Result Shutdown(bool keep_devices) { return p_->RequestShutdown(keep_devices); }
  // A clean stop's first step: unmounts every file system on a volume's device that is not in
  // use (plain unmounts, probed first; nothing forced). The volumes still mounted go to
  // *in_use, with a note saying why: their devices must be kept for the next daemon to
  // recover, never deleted under their users. The state does not change: the next start
  // mounts every volume at its access paths again.
  void DismountForStop(std::vector<std::string>* in_use, std::vector<std::string>* notes);

  // --- resources (cluster-resource-offline.md)
  Result ResourceOffline(Kind kind, const std::string& name, std::vector<Change>* changed);
  Result ResourceOnline(Kind kind, const std::string& name, std::vector<Change>* changed);

  // At start: checks every drive's backing identity and size against the catalog (a drive that
  // changed is cache-corrupt, and the volumes lying on it are held back: not started, "stopped"
  // with the reason, until Refresh); starts every other volume's device (asking for the ublk id
  // it had, so a device a previous daemon left is recovered; a volume whose device cannot start
  // stays in the catalog, stopped, with the reason in its view), records the ids and counts
  // recoveries (Volume::recoveries), then claims offline / permanently dismounted volumes, mounts
  // the others at their access paths and sets read-only flags. Never fails the start; problems
  // are notes.
  void Restore(std::vector<std::string>* notes);

  // --- warnings of the last call (an ok call that did not do everything: e.g. online, but not
  // remounted). The dispatcher takes them into the reply's "notes".
  std::vector<std::string> TakeNotes() { return std::exchange(notes_, {}); }

  // --- events (events.h; controller_events.cpp)
  // Where state-change events go; nullptr (the default): none are made.
  void SetEventSink(EventSink* sink) { events_ = sink; }
  // The cause of the events the next calls make, until set again: the dispatcher sets
  // (call, op) before each call, the daemon (backend_error) before it marks drives failed.
  // Restore sets recovery itself.
  void SetEventCause(EventCause cause, std::string op = {}) {
    cause_ = cause;
    cause_op_ = std::move(op);
  }

  // --- queries
  ResourceState StateOf(Kind kind, const std::string& name) const {
    return StateIn(*c_, kind, name);
  }
  // Kind/name pairs an operation on (kind, name) works on, for the daemon's busy claims: the
  // object itself plus its dependents (a disk's volumes; a drive's disk and its volumes).
  std::vector<std::string> Footprint(Kind kind, const std::string& name) const {
    return blkgate::Footprint(*c_, kind, name);
  }
  bool IsDeleted(const std::string& drive) const { return deleted_drives_.count(drive) != 0; }
  bool IsCorrupt(const std::string& drive) const { return corrupt_drives_.count(drive) != 0; }
  const Catalog& catalog() const { return *c_; }
  // One sample of the I/O counters of each of v's queues (Platform::SampleIo).
  Result SampleIo(const Volume& v, std::vector<QueueIoSample>* queues) {
    return p_->SampleIo(v, queues);
  }
  // The platform's view, with the reason a held-back volume was not started as its error.
  DeviceInfo Describe(const Volume& v);
  // The object kind/name, or the error a call naming it gets (not-found, object-deleted).
  Result CheckExists(Kind kind, const std::string& name) const;

 private:
  Result FindVolume(const std::string& name, Volume** v);
  Result FindDisk(const std::string& name, Disk** k);
  Result FindDrive(const std::string& name, Drive** d);
  // Unmount every mount of v (probing first unless force). Appends what it unmounted.
  Result DismountAll(const Volume& v, bool force, std::vector<std::string>* undone);
  // Mount v at every access path not mounted yet; on failure unmounts what it mounted.
  Result MountAccessPaths(const Volume& v);
  // Runs the pre_* hooks of event e on the object: ok, permission_denied as the platform said
  // (an unsafe hook or hooks dir), or any other veto as device_in_use "<event> hook refused: ...".
  Result PreHooks(HookEvent e, Kind kind, const std::string& name);
  // Best effort: mount v again where a failed call unmounted it (an access path with its
  // options; any other mount point with the default ones).
  void Remount(const Volume& v, const std::vector<std::string>& targets);
  // Persists next, makes it current, and publishes an event for every object whose state it
  // changed.
  Result Commit(Catalog next);
  // The events of a commit: every object whose state differs between `before` and now.
  void EmitChanges(const Catalog& before);
  // A pre-* hook (or the hooks' safety check) refused the transition of kind/name.
  void EmitVeto(HookEvent e, Kind kind, const std::string& name, const Result& veto);
  // The start's events: every object as Restore left it (old "unknown", cause recovery).
  void EmitRestored();
  void Emit(Event e);
  void PublishVolumesOf(std::string_view disk, bool wait);
  // Whether a store inspected now (id, size) is the one recorded for d: the same identity, and
  // the same size (or larger, for a drive of a disk: the disk keeps the size it was built with).
  bool StoreMatches(const Drive& d, const DriveIdentity& id, std::uint64_t size) const;
  Result CheckDriveCache(const Drive& d);
  Result SetDriveStatus(Drive* d, DriveStatus s, std::vector<Change>* changed);
  // Starts the devices of the named volumes, then read-only flags, claims and mounts (Restore).
  void StartVolumes(const std::vector<std::string>& names, std::vector<std::string>* notes);

  Platform* p_;
  Catalog* c_;
  std::vector<std::string> notes_;
  std::set<std::string, std::less<>> deleted_drives_;
  std::set<std::string, std::less<>> corrupt_drives_;
  // Volumes Restore did not start because a drive under them changed: name -> why.
  std::map<std::string, std::string, std::less<>> held_volumes_;
  EventSink* events_ = nullptr;
  EventCause cause_ = EventCause::call;
  std::string cause_op_;
};

}  // namespace blkgate
