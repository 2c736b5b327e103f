// gate/volume_device.cpp — VolumeDevice on ublk: the control sequence around the queues.
//
// Create: backing stores -> GET_FEATURES -> a look at the device holding the volume's old id
// (GET_DEV_INFO, GET_PARAMS; PlanVolumeDevice decides) -> either recovery: START_USER_RECOVERY
// -> open /dev/ublkcN -> queue threads (each submits FETCH_REQ for all its tags) ->
// END_USER_RECOVERY; or a new device: ADD_DEV (recoverable, stamped) -> SET_PARAMS -> open
// /dev/ublkcN -> queue threads -> START_DEV (from this, the control thread) -> wait for
// /dev/ublkbN. Stop: STOP_DEV (the queues keep serving until the disk is gone, then every FETCH
// is aborted and they exit) -> join -> close the char device -> DEL_DEV -> fdatasync the
// backing stores. Leave: the queues drain and exit -> join -> close -> fdatasync; the kernel
// quiesces the device for the next daemon.
#include "volume_device.h"

#include <fcntl.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <thread>

#include "backend.h"
#include "fault_point.h"
#include "io_layout.h"
#include "io_log.h"
#include "io_stats.h"
#include "ublk_ctrl.h"
#include "ublk_features.h"
#include "ublk_queue.h"
#include "ublk_survey.h"
#include "ublk_udev.h"

namespace blkgate {

namespace {

constexpr std::uint32_t kMaxIoBytes = 512 * 1024;       // per request (max_sectors 1024)
constexpr std::uint32_t kMaxDiscardSectors = 1u << 21;  // 1 GiB per DISCARD / WRITE_ZEROES
constexpr int kStartTimeoutMs = 30000;
constexpr int kNodeTimeoutMs = 10000;
// How long a start waits for the previous daemon's devices to settle: a device of ours still
// LIVE (its server is exiting) to become quiesced, and START_USER_RECOVERY's -EBUSY (the old
// char device not yet released: its io_uring contexts are torn down asynchronously) to clear.
// The kernel signals neither, so we look again every kSettlePollMs.
constexpr int kSettleMs = 10000;
constexpr int kSettlePollMs = 20;

// The queues ADD_DEV grants for `asked`: at most one per possible CPU.
std::uint16_t GrantedQueues(std::uint16_t asked) {
  const int cpus = ::get_nprocs_conf();
  return cpus > 0 ? static_cast<std::uint16_t>(std::min<int>(asked, cpus)) : asked;
}

std::uint64_t ElapsedUs(std::chrono::steady_clock::time_point since) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::steady_clock::now() - since)
                                        .count());
}

class UblkVolumeDevice final : public VolumeDevice {
 public:
  explicit UblkVolumeDevice(const DeviceSpec& spec) : spec_(spec) {}
  ~UblkVolumeDevice() override {
    Result r = Stop();
    if (!r.ok()) io::LogLine("volume %s: stop: %s", spec_.name.c_str(), r.ToString().c_str());
  }

  Result Init();

  int dev_id() const override { return dev_id_; }
  std::span<gate::QueueSync* const> queue_syncs() const override {
    return {sync_ptrs_.data(), sync_ptrs_.size()};
  }
  DeviceStats stats() const override;
  DeviceStats queue_stats(std::size_t q) const override;
  std::vector<QueueIoSample> SampleIo() const override;
  Result FlushBacking() override { return backend_ ? backend_->FlushAll() : Result::Ok(); }
  Result Stop() override;
  Result Leave() override;
  bool recovered() const override { return recovered_; }
  std::string_view recovery_mode() const override { return RecoveryModeName(flags_); }
  std::string_view data_path() const override { return ToString(data_path_); }

 private:
  // What to do with the device at `id` (waits up to kSettleMs while it is settling).
  Result Plan(std::uint32_t id, DevicePlan* plan, FoundDevice* found);
  // Takes over `found` (ours, quiesced, right geometry).
  Result Recover(const FoundDevice& found);
  // A new device (ADD_DEV asking for `id`, or any when < 0) through START_DEV.
  Result Add(int id);
  Result SetParams();
  // Opens /dev/ublkcN, then a queue thread for every queue, each with its FETCH_REQs
  // submitted.
  Result StartQueues();
  bool AnyQueueFailed() const;
  // Stop() and Leave(); keep: leave the device for the next daemon.
  Result Dismantle(bool keep);

  DeviceSpec spec_;
  io::VolumeLayout layout_;
  std::unique_ptr<io::Backend> backend_;
  std::unique_ptr<ublk::UblkControl> ctrl_;
  io::UniqueFd char_fd_;
  int dev_id_ = -1;
  bool added_ = false;  // we own a device (added or recovered): STOP_DEV and DEL_DEV owed
  bool stopped_ = false;
  bool recovered_ = false;
  std::uint64_t flags_ = 0;                          // UBLK_F_* of the device
  DataPathMode data_path_ = DataPathMode::copy;      // of the device (from its flags)
  DataPathMode new_data_path_ = DataPathMode::copy;  // what Add() asks for
  std::uint16_t nr_queues_ = 0;
  std::uint32_t max_io_ = kMaxIoBytes;
  std::unique_ptr<gate::QueueSync[]> syncs_;
  std::vector<gate::QueueSync*> sync_ptrs_;
  std::unique_ptr<io::QueueStats[]> stats_;
  std::vector<std::unique_ptr<ublk::UblkQueue>> queues_;
  std::atomic<bool> stopping_{false};
};

Result UblkVolumeDevice::Init() {
  const DeviceSpec& s = spec_;
  if (!s.gate) return Result::InvalidArgument("device spec: gate word missing");
  if (s.queues == 0 || s.queues > kMaxQueues)
    return Result::InvalidArgument("device spec: queues must be 1.." + std::to_string(kMaxQueues));
  if (s.depth == 0 || s.depth > kMaxDepth || s.depth > ublk::kMaxQueueDepth)
    return Result::InvalidArgument("device spec: depth must be 1.." + std::to_string(kMaxDepth));
  BLKGATE_TRY(io::VolumeLayout::Build(s.size, s.segments, &layout_));

  switch (s.backend) {
    case BackendKind::file: {
      io::FileBackendOptions opt;
      opt.zero_fill_bytes = kMaxIoBytes;
      opt.read_only_fallback = s.read_only;
      BLKGATE_TRY(io::OpenFileBackend(layout_, s.paths, opt, &backend_));
      break;
    }
    case BackendKind::null:
      backend_ = io::MakeNullBackend();
      break;
    case BackendKind::mem:
      BLKGATE_TRY(io::MakeMemBackend(s.size, &backend_));
      break;
  }

  BLKGATE_TRY(ublk::UblkControl::Open(&ctrl_));
  std::uint64_t features = 0;
  BLKGATE_TRY(ctrl_->GetFeatures(&features));
  if (!(features & ublk::kFeatCmdIoctlEncode))
    return Result::NotSupported("ublk driver lacks ioctl-encoded commands");
  // What a new device gets; a recovered one keeps the data path it was created with.
  new_data_path_ = s.zero_copy && backend_->fixed_buffers() ? ChooseDataPath(features, s.backend)
                                                            : DataPathMode::copy;
  if (s.dev_id < 0) return Add(-1);

  const auto id = static_cast<std::uint32_t>(s.dev_id);
  DevicePlan plan;
  FoundDevice found;
  BLKGATE_TRY(Plan(id, &plan, &found));
  if (plan.action != DeviceAction::create)
    io::LogLine("volume %s: %s: %s", s.name.c_str(), std::string(ToString(plan.action)).c_str(),
                plan.why.c_str());
  switch (plan.action) {
    case DeviceAction::create:
      return Add(s.dev_id);
    case DeviceAction::recover: {
      Result r = Recover(found);
      if (r.ok()) return r;
      // Never leave a half-recovered device: delete it (what was queued on it fails) and serve
      // the volume from a new one.
      io::LogLine("volume %s: recovering ublk device %u failed: %s; replacing it", s.name.c_str(),
                  id, r.ToString().c_str());
      (void)Dismantle(false);
      stopping_.store(false, std::memory_order_release);
      return Add(s.dev_id);
    }
    case DeviceAction::replace:
      if (Result r = RemoveUblkDevice(id); !r.ok())
        io::LogLine("volume %s: removing ublk device %u: %s", s.name.c_str(), id,
                    r.ToString().c_str());
      return Add(s.dev_id);
    case DeviceAction::create_elsewhere:
    case DeviceAction::wait:  // still settling after kSettleMs: leave it alone
      return Add(-1);
  }
  return Add(-1);
}

Result UblkVolumeDevice::Plan(std::uint32_t id, DevicePlan* plan, FoundDevice* found) {
  WantedDevice want;
  want.size = spec_.size;
  want.queues = GrantedQueues(spec_.queues);
  want.depth = spec_.depth;
  want.logical_block = backend_->logical_block_size();
  want.owner = spec_.owner;
  want.self_pid = static_cast<std::int32_t>(::getpid());
  for (int waited = 0;; waited += kSettlePollMs) {
    bool exists = false;
    BLKGATE_TRY(ProbeUblkDevice(*ctrl_, id, found, &exists));
    *plan = PlanVolumeDevice(exists ? found : nullptr, want);
    if (plan->action != DeviceAction::wait || waited >= kSettleMs) return Result::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(kSettlePollMs));
  }
}

Result UblkVolumeDevice::Recover(const FoundDevice& found) {
  const auto start = std::chrono::steady_clock::now();
  const std::uint32_t id = found.dev_id;
  // From here the device is ours to serve, or to delete if we cannot.
  dev_id_ = static_cast<int>(id);
  added_ = true;
  flags_ = found.flags;
  data_path_ = DataPathOf(flags_);
  nr_queues_ = found.queues;
  for (int waited = 0;; waited += kSettlePollMs) {
    Result r = ctrl_->StartUserRecovery(id);
    if (r.ok()) break;
    if (r.code() != Code::device_in_use || waited >= kSettleMs) return r;
    std::this_thread::sleep_for(std::chrono::milliseconds(kSettlePollMs));
  }
  FoundDevice now;
  bool exists = false;
  BLKGATE_TRY(ProbeUblkDevice(*ctrl_, id, &now, &exists, &max_io_));
  if (!exists || max_io_ < 4096) return Result::IoError("ublk device vanished or unusable");

  BLKGATE_TRY(StartQueues());
  BLKGATE_TRY(ctrl_->EndUserRecovery(
      id, ::getpid(), [this] { return AnyQueueFailed(); }, kStartTimeoutMs));
  recovered_ = true;
  const std::uint64_t us = ElapsedUs(start);
  io::LogLine("volume %s: recovered %s in %llu.%03llu ms (recovery %s)", spec_.name.c_str(),
              block_path().c_str(), static_cast<unsigned long long>(us / 1000),
              static_cast<unsigned long long>(us % 1000), std::string(recovery_mode()).c_str());
  return Result::Ok();
}

Result UblkVolumeDevice::Add(int id) {
  const DeviceSpec& s = spec_;
  ublksrv_ctrl_dev_info info;
  std::memset(&info, 0, sizeof info);
  info.nr_hw_queues = s.queues;
  info.queue_depth = s.depth;
  info.max_io_buf_bytes = kMaxIoBytes;
  info.dev_id = id >= 0 ? static_cast<std::uint32_t>(id) : UINT32_MAX;
  info.flags = ublk::kFeatCmdIoctlEncode | s.recovery_flags | DataPathFlags(new_data_path_);
  info.ublksrv_flags = s.owner;
  Result added = ctrl_->AddDev(&info);
  if (!added.ok() && added.code() != Code::already_exists && new_data_path_ != DataPathMode::copy) {
    // The kernel reports the feature but refuses it for this device: serve it copying.
    io::LogLine("volume %s: ublk refused %s (%s); using copy", s.name.c_str(),
                std::string(ToString(new_data_path_)).c_str(), added.ToString().c_str());
    info.flags &= ~DataPathFlags(new_data_path_);
    added = ctrl_->AddDev(&info);
  }
  BLKGATE_TRY(added);
  FaultPoint("after ADD_DEV");
  added_ = true;
  dev_id_ = static_cast<int>(info.dev_id);
  flags_ = info.flags;
  data_path_ = DataPathOf(flags_);
  nr_queues_ = info.nr_hw_queues;
  max_io_ = info.max_io_buf_bytes;
  if (nr_queues_ != s.queues)
    io::LogLine("volume %s: ublk granted %u queues of the %u asked (one per CPU at most)",
                s.name.c_str(), nr_queues_, s.queues);
  if ((flags_ & ublk::kFeatRecoveryAll) != (s.recovery_flags & ublk::kFeatRecoveryAll))
    io::LogLine("volume %s: ublk granted recovery mode %s", s.name.c_str(),
                std::string(recovery_mode()).c_str());
  if (nr_queues_ == 0 || info.queue_depth != s.depth || max_io_ < 4096)
    return Result::IoError("ublk ADD_DEV granted an unusable geometry");
  BLKGATE_TRY(SetParams());
  FaultPoint("after SET_PARAMS");

  BLKGATE_TRY(StartQueues());
  BLKGATE_TRY(ctrl_->StartDev(
      static_cast<std::uint32_t>(dev_id_), ::getpid(), [this] { return AnyQueueFailed(); },
      kStartTimeoutMs));
  FaultPoint("after START_DEV");
  return ublk::WaitForDevNode(block_path(), "block", kNodeTimeoutMs);
}

Result UblkVolumeDevice::StartQueues() {
  const DeviceSpec& s = spec_;
  const std::string cdev = "/dev/ublkc" + std::to_string(dev_id_);
  BLKGATE_TRY(ublk::WaitForDevNode(cdev, "ublk-char", kNodeTimeoutMs));
  int fd = ::open(cdev.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Result::FromErrno(errno, "open " + cdev);
  char_fd_.reset(fd);
  syncs_.reset(new gate::QueueSync[nr_queues_]);
  stats_.reset(new io::QueueStats[nr_queues_]);
  sync_ptrs_.clear();
  for (std::uint16_t q = 0; q < nr_queues_; ++q) sync_ptrs_.push_back(&syncs_[q]);
  cpu_set_t allowed;
  const bool place =
      s.queue_cpus != QueueCpus::any && ::sched_getaffinity(0, sizeof allowed, &allowed) == 0;
  std::string placed;  // "q0 1, q1 0" for the log
  for (std::uint16_t q = 0; q < nr_queues_; ++q) {
    ublk::UblkQueueConfig qc;
    if (place) {
      cpu_set_t mine;
      if (Result r = ctrl_->GetQueueAffinity(static_cast<std::uint32_t>(dev_id_), q, &mine);
          !r.ok())
        io::LogLine("volume %s: queue %u: %s; its thread runs anywhere", s.name.c_str(), q,
                    r.ToString().c_str());
      else
        qc.cpus = QueueThreadCpus(s.queue_cpus, allowed, mine);
      placed += (q ? ", q" : "q") + std::to_string(q) + " " + (qc.cpus ? CpuList(*qc.cpus) : "any");
    }
    qc.char_fd = char_fd_.get();
    qc.q_id = q;
    qc.dev_id = dev_id_;
    qc.depth = s.depth;
    qc.max_io_bytes = max_io_;
    qc.zero_copy = data_path_ == DataPathMode::zero_copy;
    qc.priority = s.priority;
    qc.handler.layout = &layout_;
    qc.handler.backend = backend_.get();
    qc.handler.gate = s.gate;
    qc.handler.sync = &syncs_[q];
    qc.handler.stats = &stats_[q];
    qc.handler.depth = s.depth;
    qc.handler.park_timeout_ms = s.park_timeout_ms;
    qc.handler.on_backend_error = &spec_.on_backend_error;
    qc.handler.stopping = &stopping_;
    auto queue = std::make_unique<ublk::UblkQueue>(qc);
    BLKGATE_TRY(queue->Start());
    queues_.push_back(std::move(queue));
  }
  if (place)
    io::LogLine("volume %s: queue threads on CPUs %s (--queue-cpus %s)", s.name.c_str(),
                placed.c_str(), std::string(ToString(s.queue_cpus)).c_str());
  return Result::Ok();
}

bool UblkVolumeDevice::AnyQueueFailed() const {
  for (const auto& q : queues_)
    if (q->failed()) return true;
  return false;
}

Result UblkVolumeDevice::SetParams() {
  const std::uint32_t lbs = backend_->logical_block_size();
  const int shift = std::countr_zero(lbs);
  ublk_params p;
  std::memset(&p, 0, sizeof p);
  p.len = sizeof p;
  p.types = UBLK_PARAM_TYPE_BASIC | UBLK_PARAM_TYPE_DISCARD;
  // A volatile cache: fsync / REQ_PREFLUSH reach us as FLUSH, which fdatasyncs the drives.
  // FUA: a REQ_FUA write reaches us flagged and is made durable alone (RWF_DSYNC); without it
  // the block layer follows each such write with a FLUSH.
  p.basic.attrs = UBLK_ATTR_VOLATILE_CACHE | (spec_.fua ? UBLK_ATTR_FUA : 0) |
                  (spec_.read_only ? UBLK_ATTR_READ_ONLY : 0);
  p.basic.logical_bs_shift = static_cast<std::uint8_t>(shift);
  p.basic.physical_bs_shift = static_cast<std::uint8_t>(std::max(shift, 12));
  p.basic.io_min_shift = static_cast<std::uint8_t>(shift);
  p.basic.io_opt_shift = static_cast<std::uint8_t>(std::max(shift, 12));
  p.basic.max_sectors = max_io_ >> 9;
  p.basic.dev_sectors = spec_.size >> 9;
  p.discard.discard_alignment = 0;
  p.discard.discard_granularity = std::max<std::uint32_t>(lbs, 4096);
  p.discard.max_discard_sectors = kMaxDiscardSectors;
  p.discard.max_write_zeroes_sectors = kMaxDiscardSectors;
  p.discard.max_discard_segments = 1;
  return ctrl_->SetParams(static_cast<std::uint32_t>(dev_id_), p);
}

Result UblkVolumeDevice::Stop() {
  if (stopped_) return Result::Ok();
  stopped_ = true;
  return Dismantle(false);
}

Result UblkVolumeDevice::Leave() {
  if (stopped_) return Result::Ok();
  stopped_ = true;
  return Dismantle(true);
}

Result UblkVolumeDevice::Dismantle(bool keep) {
  Result first;
  auto note = [&first](Result r) {
    if (first.ok() && !r.ok()) first = std::move(r);
  };
  const auto id = static_cast<std::uint32_t>(dev_id_);
  if (keep) {
    for (auto& q : queues_) q->RequestLeave();
  } else {
    stopping_.store(true, std::memory_order_release);  // parked requests fail now
    if (added_ && ctrl_) note(ctrl_->StopDev(id));
    FaultPoint("after STOP_DEV");
    for (auto& q : queues_) q->RequestExit();
  }
  for (auto& q : queues_) q->Join();
  queues_.clear();
  char_fd_.reset();
  if (added_ && ctrl_ && !keep) note(ctrl_->DelDev(id, kDelDevTimeoutMs));
  added_ = false;
  // Completed writes on buffered drives are in the page cache: make them durable too.
  if (backend_) note(backend_->FlushAll());
  return first;
}

DeviceStats UblkVolumeDevice::queue_stats(std::size_t q) const {
  DeviceStats d;
  if (q >= nr_queues_ || !stats_) return d;
  constexpr auto r = std::memory_order_relaxed;
  const io::QueueStats& s = stats_[q];
  d.reads = s.reads.load(r);
  d.writes = s.writes.load(r);
  d.flushes = s.flushes.load(r);
  d.discards = s.discards.load(r);
  d.write_zeroes = s.write_zeroes.load(r);
  d.refused = s.refused.load(r);
  d.backend_errors = s.backend_errors.load(r);
  d.parked = s.parked.load(r);
  return d;
}

std::vector<QueueIoSample> UblkVolumeDevice::SampleIo() const {
  std::vector<QueueIoSample> out;
  for (std::size_t q = 0; stats_ && q < nr_queues_; ++q) out.push_back(stats_[q].Snapshot());
  return out;
}

DeviceStats UblkVolumeDevice::stats() const {
  DeviceStats d;
  for (std::size_t q = 0; q < nr_queues_; ++q) {
    const DeviceStats s = queue_stats(q);
    d.reads += s.reads;
    d.writes += s.writes;
    d.flushes += s.flushes;
    d.discards += s.discards;
    d.write_zeroes += s.write_zeroes;
    d.refused += s.refused;
    d.backend_errors += s.backend_errors;
    d.parked += s.parked;
  }
  return d;
}

}  // namespace

Result VolumeDevice::Create(const DeviceSpec& spec, std::unique_ptr<VolumeDevice>* out) {
  auto dev = std::make_unique<UblkVolumeDevice>(spec);
  Result r = dev->Init();
  if (!r.ok()) return r;  // ~UblkVolumeDevice stops, joins and deletes what Init made
  *out = std::move(dev);
  return Result::Ok();
}

}  // namespace blkgate
