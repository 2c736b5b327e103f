// gate/volume_registry.cpp — volume runtimes and their devices (see volume_registry.h).
#include "volume_registry.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "log.h"
#include "ublk_survey.h"

namespace blkgate {

VolumeRegistry::VolumeRegistry(VolumeRegistryOptions o) : o_(std::move(o)), names_(o_.names_dir) {
  MutexLock lock(&mu_);
  names_.Prepare();
}

VolumeRegistry::~VolumeRegistry() {
  StopAll({});
}

std::uint16_t VolumeRegistry::EffectiveQueues(const Volume& v) {
  if (v.queues) return v.queues;
  cpu_set_t set;
  unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    cpus = static_cast<unsigned>(std::max(1, CPU_COUNT(&set)));
  return static_cast<std::uint16_t>(std::min<unsigned>(cpus, kMaxQueues));
}

VolumeRegistry::Runtime* VolumeRegistry::Find(const std::string& volume) {
  auto it = runtimes_.find(volume);
  return it == runtimes_.end() ? nullptr : it->second.get();
}

Result VolumeRegistry::Start(const Catalog& c, const Volume& v, int* dev_id) {
  MutexLock lock(&mu_);
  std::unique_ptr<Runtime>& slot = runtimes_[v.name];
  if (!slot) slot = std::make_unique<Runtime>();
  Runtime* rt = slot.get();
  if (rt->device) return Result::AlreadyExists("volume '" + v.name + "' already has a device");
  DeviceSpec spec;
  spec.name = v.name;
  spec.size = v.size;
  spec.queues = EffectiveQueues(v);
  spec.depth = v.depth;
  spec.backend = v.backend;
  spec.segments = c.Segments(v);
  for (const Segment& s : spec.segments) spec.paths.push_back(c.drive(s.drive)->path);
  spec.park_timeout_ms = o_.park_timeout_ms;
  spec.priority = o_.data_priority;
  // The gate word is right before the first request can arrive.
  gate::publish(*rt->gate, EffectiveGateWord(c, v));
  spec.gate = rt->gate.get();
  const int wake = o_.wake_fd;
  std::atomic<std::uint32_t>* failed = &rt->failed_drives;
  spec.recovery_flags = o_.recovery_flags;
  spec.owner = o_.owner;
  spec.zero_copy = o_.zero_copy;
  spec.queue_cpus = o_.queue_cpus;
  spec.fua = o_.fua;
  spec.on_backend_error = [wake, failed](int drive_index, int) {
    failed->fetch_or(1u << drive_index, std::memory_order_relaxed);
    std::uint64_t one = 1;
    ssize_t n = ::write(wake, &one, sizeof one);  // non-blocking eventfd
    (void)n;
  };
  // Ask for the id it had: a restart keeps /dev/ublkbN, and recovers the device a crashed or
  // handed-over daemon left there; if another server's device holds that id, take any.
  spec.dev_id = v.dev_id;
  std::unique_ptr<VolumeDevice> dev;
  Result created = VolumeDevice::Create(spec, &dev);
  if (created.code() == Code::already_exists && spec.dev_id >= 0) {
    Log("volume " + v.name + ": ublk id " + std::to_string(spec.dev_id) +
        " is taken by a live device; using another");
    spec.dev_id = -1;
    created = VolumeDevice::Create(spec, &dev);
  }
  if (!created.ok()) {
    rt->last_error = created.ToString();
    return created;
  }
  rt->device = std::move(dev);
  rt->last_error.clear();
  *dev_id = rt->device->dev_id();
  names_.Publish(*dev_id, v.name);
  Log("volume " + v.name + (rt->device->recovered() ? " recovered as " : " served as ") +
      rt->device->block_path() + " (data path " + std::string(rt->device->data_path()) +
      ", recovery " + std::string(rt->device->recovery_mode()) + ")");
  return Result::Ok();
}

void VolumeRegistry::StopRuntime(const std::string& name, Runtime* rt, bool keep, bool* ok) {
  // The claim goes first: closing the last opener of a block device may write back, which
  // must not wait on a device whose queues are gone.
  rt->claim.reset();
  if (!rt->device) return;
  if (Result r = keep ? rt->device->Leave() : rt->device->Stop(); !r.ok()) {
    Log("volume " + name + (keep ? ": leaving the device failed: " : ": stop failed: ") +
        r.ToString());
    *ok = false;
  } else if (keep) {
    Log("volume " + name + ": " + rt->device->block_path() + " left for the next daemon");
  }
  rt->device.reset();
}

void VolumeRegistry::Stop(const std::string& volume) {
  MutexLock lock(&mu_);
  auto it = runtimes_.find(volume);
  if (it == runtimes_.end()) return;
  bool ok = true;
  const int id = it->second->device ? it->second->device->dev_id() : -1;
  StopRuntime(volume, it->second.get(), false, &ok);
  if (ok) names_.Withdraw(id);
  runtimes_.erase(it);
}

bool VolumeRegistry::StopAll(const std::set<std::string>& keep) {
  MutexLock lock(&mu_);
  bool ok = true;
  for (auto& [name, rt] : runtimes_) {
    const bool kept = keep.count(name) != 0;
    const int id = rt->device ? rt->device->dev_id() : -1;
    bool stopped = true;
    StopRuntime(name, rt.get(), kept, &stopped);
    if (stopped && !kept) names_.Withdraw(id);  // a kept device keeps its name
    ok = ok && stopped;
  }
  return ok;
}

bool VolumeRegistry::LeaveAll() {
  MutexLock lock(&mu_);
  bool ok = true;
  for (auto& [name, rt] : runtimes_) StopRuntime(name, rt.get(), true, &ok);
  return ok;
}

void VolumeRegistry::RemoveOrphans(const std::set<int>& claimed) {
  MutexLock lock(&mu_);
  std::vector<FoundDevice> all;
  if (Result r = SurveyUblkDevices(&all); !r.ok()) {
    Log("cannot list the ublk devices: " + r.ToString());
    return;
  }
  for (const FoundDevice& d : all) {
    std::string why;
    const bool orphan = IsOrphanOf(d, o_.owner, claimed, &why);
    if (!why.empty()) Log(why + (orphan ? ": deleting it" : ""));
    if (!orphan) continue;
    if (Result r = RemoveUblkDevice(d.dev_id); !r.ok()) {
      Log("ublk device " + std::to_string(d.dev_id) + ": " + r.ToString());
    } else {
      names_.Withdraw(static_cast<int>(d.dev_id));
    }
  }
}

std::string VolumeRegistry::BlockPath(const std::string& volume) {
  MutexLock lock(&mu_);
  Runtime* rt = Find(volume);
  return rt && rt->device ? rt->device->block_path() : std::string();
}

void VolumeRegistry::Claim(const std::string& volume, bool hold) {
  MutexLock lock(&mu_);
  Runtime* rt = Find(volume);
  if (!rt) return;
  if (!hold) {
    rt->claim.reset();
    return;
  }
  if (rt->claim.valid() || !rt->device) return;
  const std::string path = rt->device->block_path();
  rt->claim.reset(::open(path.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC));
  if (!rt->claim.valid())
    Log("volume " + volume + ": cannot claim " + path + ": " + std::strerror(errno));
}

void VolumeRegistry::PublishGate(const std::string& volume, std::uint64_t word, bool wait) {
  MutexLock lock(&mu_);
  Runtime* rt = Find(volume);
  if (!rt) return;
  gate::publish(*rt->gate, word);
  if (wait && rt->device) gate::synchronize(rt->device->queue_syncs());
}

Result VolumeRegistry::SampleIo(const std::string& volume, std::vector<QueueIoSample>* out) {
  MutexLock lock(&mu_);
  Runtime* rt = Find(volume);
  if (!rt || !rt->device) return Result::NotReady("volume '" + volume + "' has no running device");
  *out = rt->device->SampleIo();
  return Result::Ok();
}

DeviceInfo VolumeRegistry::Describe(const Volume& v) {
  MutexLock lock(&mu_);
  DeviceInfo info;
  info.queues = EffectiveQueues(v);
  Runtime* rt = Find(v.name);
  if (!rt) return info;
  info.error = rt->last_error;
  if (!rt->device) return info;
  info.running = true;
  info.recovery = rt->device->recovery_mode();
  info.recovered = rt->device->recovered();
  info.device = rt->device->block_path();
  info.dev_id = rt->device->dev_id();
  const DeviceStats s = rt->device->stats();
  info.stats = {{"reads", s.reads},
                {"writes", s.writes},
                {"flushes", s.flushes},
                {"discards", s.discards},
                {"write_zeroes", s.write_zeroes},
                {"refused", s.refused},
                {"backend_errors", s.backend_errors},
                {"parked", s.parked}};
  return info;
}

std::vector<std::pair<std::string, std::uint32_t>> VolumeRegistry::TakeFailedDrives() {
  MutexLock lock(&mu_);
  std::vector<std::pair<std::string, std::uint32_t>> out;
  for (auto& [name, rt] : runtimes_)
    if (std::uint32_t bits = rt->failed_drives.exchange(0); bits) out.emplace_back(name, bits);
  return out;
}

}  // namespace blkgate
