// gate/platform_linux.h — the controller's Platform, implemented with Linux syscalls.
//
// Control plane only; called with the daemon's catalog lock held. Volumes are resolved to their
// running device through the VolumeRuntime the daemon owns.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "blkgate/controller.h"
#include "blkgate/gate.h"
#include "blkgate/state_store.h"
#include "volume_device.h"

namespace blkgate {

// What the daemon keeps per volume. The gate word must outlive the device that reads it.
struct VolumeRuntime {
  std::unique_ptr<gate::GateWord> gate = std::make_unique<gate::GateWord>();
  std::unique_ptr<VolumeDevice> device;
  std::atomic<std::uint32_t> failed_drives{0};  // bits by drive position, set by queue threads
  std::string last_error;                       // why the device is not running
  int claim_fd = -1;                            // O_EXCL open holding the device unmountable
};

// Hook tokens of hooks running now; a control call carrying one is a reentrant call.
class HookTokens {
 public:
  void Add(const std::string& t, std::string what);
  void Remove(const std::string& t);
  // The description of the running hook holding token t, or empty.
  std::string Find(const std::string& t) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> active_;
};

struct PlatformOptions {
  std::string hooks_dir;    // DIR/hooks
  std::string socket_path;  // passed to hooks as BLKGATE_SOCKET
  unsigned hook_timeout_s = 30;
};

class LinuxPlatform final : public Platform {
 public:
  using Lookup = std::function<VolumeRuntime*(const std::string& volume)>;
  LinuxPlatform(PlatformOptions o, StateStore* store, HookTokens* tokens, Lookup lookup)
      : o_(std::move(o)), store_(store), tokens_(tokens), lookup_(std::move(lookup)) {}

  Result ListMounts(const Volume& v, std::vector<std::string>* targets) override;
  Result ProbeBusy(const std::string& target) override;
  Result Unmount(const std::string& target) override;
  Result ForceUnmount(const std::string& target) override;
  Result Mount(const Volume& v, const std::string& target) override;
  Result CheckDirectory(const std::string& dir) override;
  void Claim(const Volume& v, bool hold) override;
  void PublishGate(const Volume& v, std::uint64_t word, bool wait) override;
  Result SetDeviceReadOnly(const Volume& v, bool read_only) override;
  Result FlushDrive(const Drive& d) override;
  Result InspectDrive(const Drive& d, DriveIdentity* id, std::uint64_t* size) override;
  bool IsSystemDevice(const Volume& v) override;
  Result RunHooks(HookEvent e, Kind kind, const std::string& name, ResourceState state) override;
  Result Persist(const Catalog& next) override;

 private:
  // The running device's block path and device number; not_ready when it has none.
  Result DeviceOf(const Volume& v, std::string* path, dev_t* rdev);

  PlatformOptions o_;
  StateStore* store_;
  HookTokens* tokens_;
  Lookup lookup_;
};

// Size and identity of a backing store (regular file or block device). not_found when missing.
Result InspectBacking(const std::string& path, std::uint64_t* size, DriveIdentity* id);

}  // namespace blkgate
