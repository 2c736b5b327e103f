// gate/platform_linux.h — the Controller's Platform, implemented with Linux syscalls.
//
// Mounts go through access_path.h: never through a symbolic link, onto the opened directory.
// Threads: control threads and the main thread, always under the dispatcher's control lock
// (the Controller is called nowhere else). Devices, claims and gate words are the
// VolumeRegistry's; hooks the HookRunner's; persistence the StateStore's. Busy detection for a
// plain dismount scans /proc (open files, cwd, root); kernel users are caught by umount's EBUSY.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <utility>

#include "blkgate/controller.h"
#include "blkgate/state_store.h"
#include "hooks.h"
#include "volume_registry.h"

namespace blkgate {

class LinuxPlatform final : public Platform {
 public:
  LinuxPlatform(StateStore* store, HookRunner* hooks, VolumeRegistry* volumes)
      : store_(store), hooks_(hooks), volumes_(volumes) {}

  Result ListMounts(const Volume& v, std::vector<std::string>* targets) override;
  Result ProbeBusy(const std::string& target) override;
  Result Unmount(const Volume& v, const std::string& target) override;
  Result ForceUnmount(const Volume& v, const std::string& target) override;
  Result Mount(const Volume& v, const AccessPath& target) override;
  Result CheckDirectory(const std::string& dir) override;
  void Claim(const Volume& v, bool hold) override;
  void PublishGate(const Volume& v, std::uint64_t word, bool wait) override;
  Result SetDeviceReadOnly(const Volume& v, bool read_only) override;
  Result FlushDrive(const Drive& d) override;
  Result InspectBacking(const std::string& path, DriveIdentity* id, std::uint64_t* size) override;
  Result CreateBackingFile(const std::string& path, std::uint64_t size) override;
  void RemoveBackingFile(const std::string& path) override;
  Result StartDevice(const Catalog& c, const Volume& v, int* dev_id) override;
  void StopDevice(const Volume& v) override;
  Result ProbeDeviceUnused(const Volume& v) override;
  DeviceInfo Describe(const Volume& v) override;
  Result SampleIo(const Volume& v, std::vector<QueueIoSample>* queues) override;
  bool IsSystemDevice(const Volume& v) override;
  Result RunHooks(HookEvent e, Kind kind, const std::string& name, ResourceState state) override;
  Result Persist(const Catalog& next) override;
  Result RequestShutdown(bool keep_devices) override;

  // The daemon's: called (under the control lock) by RequestShutdown. Set before any call.
  void SetShutdownHandler(std::function<void(bool keep_devices)> fn) {
    on_shutdown_ = std::move(fn);
  }

 private:
  // The running device's block path and device number; not_ready when it has none.
  Result DeviceOf(const Volume& v, std::string* path, dev_t* rdev);
  // Unmount and ForceUnmount: the mount of v's device at target (shut down and detached when
  // force), logged.
  Result UnmountVolume(const Volume& v, const std::string& target, bool force);

  StateStore* const store_;
  HookRunner* const hooks_;
  VolumeRegistry* const volumes_;
  std::function<void(bool)> on_shutdown_;
};

}  // namespace blkgate
