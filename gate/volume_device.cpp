// gate/volume_device.cpp — VolumeDevice on ublk: the control sequence around the queues.
//
// Create: backing stores -> GET_FEATURES -> ADD_DEV -> SET_PARAMS -> open /dev/ublkcN ->
// queue threads (each submits FETCH_REQ for all its tags) -> START_DEV (from this, the control
// thread) -> wait for /dev/ublkbN. Stop: STOP_DEV (the queues keep serving until the disk is
// gone, then every FETCH is aborted and they exit) -> join -> close the char device -> DEL_DEV
// -> fdatasync the backing stores.
#include "volume_device.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>

#include "backend.h"
#include "io_layout.h"
#include "io_log.h"
#include "io_stats.h"
#include "ublk_ctrl.h"
#include "ublk_queue.h"
#include "ublk_udev.h"

namespace blkgate {

namespace {

constexpr std::uint32_t kMaxIoBytes = 512 * 1024;       // per request (max_sectors 1024)
constexpr std::uint32_t kMaxDiscardSectors = 1u << 21;  // 1 GiB per DISCARD / WRITE_ZEROES
constexpr int kStartTimeoutMs = 30000;
constexpr int kNodeTimeoutMs = 10000;
constexpr int kDelTimeoutMs = 10000;

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
  Result FlushBacking() override { return backend_ ? backend_->FlushAll() : Result::Ok(); }
  Result Stop() override;

 private:
  Result SetParams();
  bool RemoveStale(std::uint32_t id);

  DeviceSpec spec_;
  io::VolumeLayout layout_;
  std::unique_ptr<io::Backend> backend_;
  std::unique_ptr<ublk::UblkControl> ctrl_;
  io::UniqueFd char_fd_;
  int dev_id_ = -1;
  bool added_ = false;  // ADD_DEV succeeded: DEL_DEV owed
  bool stopped_ = false;
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

  ublksrv_ctrl_dev_info info;
  std::memset(&info, 0, sizeof info);
  info.nr_hw_queues = s.queues;
  info.queue_depth = s.depth;
  info.max_io_buf_bytes = kMaxIoBytes;
  info.dev_id = s.dev_id >= 0 ? static_cast<std::uint32_t>(s.dev_id) : UINT32_MAX;
  info.flags = ublk::kFeatCmdIoctlEncode;
  const ublksrv_ctrl_dev_info asked = info;
  Result added = ctrl_->AddDev(&info);
  if (added.code() == Code::already_exists && s.dev_id >= 0 && RemoveStale(info.dev_id)) {
    info = asked;
    added = ctrl_->AddDev(&info);
  }
  BLKGATE_TRY(added);
  added_ = true;
  dev_id_ = static_cast<int>(info.dev_id);
  nr_queues_ = info.nr_hw_queues;
  max_io_ = info.max_io_buf_bytes;
  if (nr_queues_ != s.queues)
    io::LogLine("volume %s: ublk granted %u queues of the %u asked (one per CPU at most)",
                s.name.c_str(), nr_queues_, s.queues);
  if (nr_queues_ == 0 || info.queue_depth != s.depth || max_io_ < 4096)
    return Result::IoError("ublk ADD_DEV granted an unusable geometry");
  BLKGATE_TRY(SetParams());

  const std::string cdev = "/dev/ublkc" + std::to_string(dev_id_);
  BLKGATE_TRY(ublk::WaitForDevNode(cdev, "ublk-char", kNodeTimeoutMs));
  int fd = ::open(cdev.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Result::FromErrno(errno, "open " + cdev);
  char_fd_.reset(fd);

  syncs_.reset(new gate::QueueSync[nr_queues_]);
  stats_.reset(new io::QueueStats[nr_queues_]);
  for (std::uint16_t q = 0; q < nr_queues_; ++q) sync_ptrs_.push_back(&syncs_[q]);
  for (std::uint16_t q = 0; q < nr_queues_; ++q) {
    ublk::UblkQueueConfig qc;
    qc.char_fd = char_fd_.get();
    qc.q_id = q;
    qc.dev_id = dev_id_;
    qc.depth = s.depth;
    qc.max_io_bytes = max_io_;
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
    Result r = queue->Start();
    if (!r.ok()) return r;
    queues_.push_back(std::move(queue));
  }

  auto any_failed = [this] {
    for (const auto& q : queues_)
      if (q->failed()) return true;
    return false;
  };
  BLKGATE_TRY(ctrl_->StartDev(static_cast<std::uint32_t>(dev_id_), ::getpid(), any_failed,
                              kStartTimeoutMs));
  return ublk::WaitForDevNode(block_path(), "block", kNodeTimeoutMs);
}

// A device left by a server that died (no DEL_DEV): the kernel stopped it when the char device
// was released, so it is DEAD, or its server pid is gone. Delete it so the id can be reused
// (the daemon's restore asks for the old id). True when it was removed.
bool UblkVolumeDevice::RemoveStale(std::uint32_t id) {
  ublksrv_ctrl_dev_info old;
  std::memset(&old, 0, sizeof old);
  if (!ctrl_->GetDevInfo(id, &old).ok()) return false;
  const bool server_gone =
      old.ublksrv_pid <= 0 || (::kill(old.ublksrv_pid, 0) != 0 && errno == ESRCH);
  if (old.state == UBLK_S_DEV_LIVE && !server_gone) return false;  // someone is serving it
  io::LogLine("volume %s: removing stale ublk device %u (state %u, server pid %d gone)",
              spec_.name.c_str(), id, old.state, old.ublksrv_pid);
  (void)ctrl_->StopDev(id);
  return ctrl_->DelDev(id, kDelTimeoutMs).ok();
}

Result UblkVolumeDevice::SetParams() {
  const std::uint32_t lbs = backend_->logical_block_size();
  const int shift = std::countr_zero(lbs);
  ublk_params p;
  std::memset(&p, 0, sizeof p);
  p.len = sizeof p;
  p.types = UBLK_PARAM_TYPE_BASIC | UBLK_PARAM_TYPE_DISCARD;
  // A volatile cache: fsync / REQ_PREFLUSH reach us as FLUSH, which fdatasyncs the drives.
  p.basic.attrs = UBLK_ATTR_VOLATILE_CACHE | (spec_.read_only ? UBLK_ATTR_READ_ONLY : 0);
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
  stopping_.store(true, std::memory_order_release);  // parked requests fail now
  Result first;
  auto keep = [&first](Result r) {
    if (first.ok() && !r.ok()) first = std::move(r);
  };
  if (added_ && ctrl_) keep(ctrl_->StopDev(static_cast<std::uint32_t>(dev_id_)));
  for (auto& q : queues_) q->RequestExit();
  for (auto& q : queues_) q->Join();
  queues_.clear();
  char_fd_.reset();
  if (added_ && ctrl_) keep(ctrl_->DelDev(static_cast<std::uint32_t>(dev_id_), kDelTimeoutMs));
  added_ = false;
  // Completed writes on buffered drives are in the page cache: make them durable too.
  if (backend_) keep(backend_->FlushAll());
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

Result ProbeUblk(std::uint64_t* features) {
  std::unique_ptr<ublk::UblkControl> ctrl;
  BLKGATE_TRY(ublk::UblkControl::Open(&ctrl));
  return ctrl->GetFeatures(features);
}

}  // namespace blkgate
