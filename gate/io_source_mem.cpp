// gate/io_source_mem.cpp — see io_source_mem.h.
#include "io_source_mem.h"

#include <cerrno>
#include <cstring>
#include <vector>

#include "io_userdata.h"
#include "ublk_abi.h"

namespace blkgate::io {

MemRequestSource::MemRequestSource(const MemSourceConfig& cfg) : cfg_(cfg) {}

MemRequestSource::~MemRequestSource() {
  // Backing SQEs still in flight reference our buffers: let them land before unmapping.
  for (int i = 0; i < 1000 && handler_ && handler_->backend_inflight() > 0; ++i) Iterate(10);
}

Result MemRequestSource::Create(const MemSourceConfig& cfg,
                                std::unique_ptr<MemRequestSource>* out) {
  if (!cfg.layout || !cfg.backend || !cfg.gate || cfg.depth == 0 ||
      cfg.depth > ublk::kMaxQueueDepth || cfg.max_io_bytes == 0 || cfg.max_io_bytes % 4096)
    return Result::InvalidArgument("mem source: bad configuration");
  std::unique_ptr<MemRequestSource> s(new MemRequestSource(cfg));
  const unsigned entries = 2u * cfg.depth < 64 ? 64 : 2u * cfg.depth;
  int err = s->ring_.InitQueue(entries, entries * 8);
  if (err < 0) return Result::FromErrno(-err, "mem source: io_uring setup");
  std::vector<int> fds{-1};
  for (int fd : cfg.backend->fds()) fds.push_back(fd);
  if (fds.size() > 1) {
    err = io_uring_register_files(s->ring_.get(), fds.data(), static_cast<unsigned>(fds.size()));
    if (err < 0) return Result::FromErrno(-err, "mem source: register backing files");
  }
  s->bufs_ = Mapping::Anonymous(std::size_t{cfg.depth} * cfg.max_io_bytes);
  if (!s->bufs_.valid()) return Result::FromErrno(errno, "mem source: request buffers");
  s->state_.reset(new TagState[cfg.depth]());
  s->result_.reset(new int[cfg.depth]());
  s->completed_.reset(new std::uint16_t[cfg.depth]());
  HandlerConfig hc;
  hc.layout = cfg.layout;
  hc.backend = cfg.backend;
  hc.gate = cfg.gate;
  hc.sync = &s->sync_;
  hc.stats = &s->stats_;
  hc.depth = cfg.depth;
  hc.park_timeout_ms = cfg.park_timeout_ms;
  hc.park_recheck_ms = cfg.park_recheck_ms;
  hc.on_backend_error = cfg.on_backend_error;
  s->handler_ =
      std::make_unique<IoHandler>(hc, s->ring_.get(), static_cast<IoCompletionSink*>(s.get()));
  *out = std::move(s);
  return Result::Ok();
}

void* MemRequestSource::Buffer(std::uint16_t tag) const {
  return static_cast<char*>(bufs_.get()) + std::size_t{tag} * cfg_.max_io_bytes;
}

void MemRequestSource::Complete(std::uint16_t tag, int result) noexcept {
  state_[tag] = TagState::done;
  result_[tag] = result;
  completed_[ncompleted_++] = tag;
}

int MemRequestSource::AllocTag() noexcept {
  for (std::uint16_t t = 0; t < cfg_.depth; ++t)
    if (state_[t] != TagState::busy) return t;
  return -EBUSY;
}

void MemRequestSource::Iterate(int timeout_ms) noexcept {
  io_uring* ring = ring_.get();
  const bool waiting = handler_->backend_inflight() > 0 || handler_->parked() > 0;
  sync_.leave();
  if (waiting && timeout_ms < 0) {
    io_uring_submit_and_wait(ring, 1);
  } else if (waiting && timeout_ms > 0) {
    __kernel_timespec ts{};
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1000000;
    io_uring_cqe* cqe = nullptr;
    io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, nullptr);
  } else {
    io_uring_submit(ring);
    // DEFER_TASKRUN: completions are only run when we ask for events.
    io_uring_get_events(ring);
  }
  sync_.enter();
  unsigned head;
  unsigned n = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(ring, head, cqe) {
    handler_->HandleCqe(cqe->user_data, cqe->res);
    ++n;
  }
  io_uring_cq_advance(ring, n);
  handler_->AfterBatch();
}

int MemRequestSource::Submit(std::uint8_t op, std::uint64_t start_sector, std::uint32_t nr_sectors,
                             const void* data, std::uint32_t flags) {
  if (std::uint64_t{nr_sectors} * 512 > cfg_.max_io_bytes &&
      (op == ublk::kOpRead || op == ublk::kOpWrite))
    return -EINVAL;
  int tag = AllocTag();
  if (tag < 0) return tag;
  void* buf = Buffer(static_cast<std::uint16_t>(tag));
  if (op == ublk::kOpWrite && data) std::memcpy(buf, data, std::size_t{nr_sectors} * 512);
  state_[tag] = TagState::busy;
  ncompleted_ = 0;  // the completion list serves RunLoad only
  IoRequest r;
  r.tag = static_cast<std::uint16_t>(tag);
  r.op = op;
  r.flags = flags;
  r.start_sector = start_sector;
  r.nr_sectors = nr_sectors;
  r.buf = buf;
  sync_.enter();
  handler_->Submit(r);
  handler_->AfterBatch();  // arms the park re-check timer if it parked
  io_uring_submit(ring_.get());
  sync_.leave();
  return tag;
}

void MemRequestSource::Poll(int timeout_ms) {
  sync_.enter();
  Iterate(timeout_ms);
  sync_.leave();
}

int MemRequestSource::Execute(std::uint8_t op, std::uint64_t start_sector, std::uint32_t nr_sectors,
                              void* data, std::uint32_t flags, int timeout_ms) {
  int tag = Submit(op, start_sector, nr_sectors, data, flags);
  if (tag < 0) return tag;
  const std::uint64_t deadline = MonotonicNs() + std::uint64_t(timeout_ms) * 1000000ull;
  while (!Done(static_cast<std::uint16_t>(tag))) {
    const std::uint64_t now = MonotonicNs();
    if (now >= deadline) return -ETIMEDOUT;
    Poll(static_cast<int>((deadline - now) / 1000000 + 1));
  }
  ncompleted_ = 0;
  state_[tag] = TagState::free;
  const int res = result_[tag];
  if (op == ublk::kOpRead && res > 0 && data)
    std::memcpy(data, Buffer(static_cast<std::uint16_t>(tag)), res);
  return res;
}

LoadResult MemRequestSource::RunLoad(const LoadSpec& spec) {
  LoadResult out;
  const std::uint16_t qd = spec.qd == 0 || spec.qd > cfg_.depth ? cfg_.depth : spec.qd;
  const std::uint64_t blocks = cfg_.layout->size / spec.block_bytes;
  if (blocks == 0 || spec.block_bytes % 512 || spec.block_bytes > cfg_.max_io_bytes) return out;
  std::uint64_t x = spec.seed ? spec.seed : 1;  // xorshift64
  std::uint64_t seq = 0;
  std::uint64_t issued = 0;
  const std::uint32_t nr = spec.block_bytes / 512;
  auto issue = [&](std::uint16_t tag) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const std::uint64_t block = spec.random ? x % blocks : seq++ % blocks;
    std::uint8_t op = spec.op;
    if (spec.read_percent >= 0)
      op = static_cast<int>((x >> 32) % 100) < spec.read_percent ? ublk::kOpRead : ublk::kOpWrite;
    state_[tag] = TagState::busy;
    IoRequest r;
    r.tag = tag;
    r.op = op;
    r.start_sector = block * nr;
    r.nr_sectors = nr;
    r.buf = Buffer(tag);
    ++issued;
    handler_->Submit(r);
  };
  ncompleted_ = 0;
  const std::uint64_t t0 = MonotonicNs();
  const std::uint64_t end = spec.max_ns ? t0 + spec.max_ns : ~0ull;
  sync_.enter();
  for (std::uint16_t t = 0; t < qd && issued < spec.requests; ++t) issue(t);
  bool stop = false;
  while (handler_->busy() > 0 || ncompleted_ > 0) {
    if (ncompleted_ == 0) Iterate(-1);
    // Re-submit outside Complete(): the handler must not be re-entered.
    while (ncompleted_ > 0) {
      const std::uint16_t tag = completed_[--ncompleted_];
      const int res = result_[tag];
      ++out.completed;
      if (res < 0)
        ++out.errors;
      else
        out.bytes += static_cast<std::uint64_t>(res);
      state_[tag] = TagState::free;
      if (!stop && (out.completed & 255) == 0 && MonotonicNs() >= end) stop = true;
      if (!stop && issued < spec.requests) issue(tag);
    }
  }
  sync_.leave();
  out.ns = MonotonicNs() - t0;
  return out;
}

}  // namespace blkgate::io
