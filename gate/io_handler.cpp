// gate/io_handler.cpp — see io_handler.h.
#include "io_handler.h"

#include <time.h>

#include <cassert>
#include <cerrno>

#include "io_ring.h"
#include "io_userdata.h"
#include "ublk_abi.h"

namespace blkgate::io {

std::uint64_t MonotonicNs() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

IoHandler::IoHandler(const HandlerConfig& cfg, io_uring* ring, IoCompletionSink* sink)
    : cfg_(cfg), ring_(ring), sink_(sink), tags_(cfg.depth), parked_(cfg.depth) {
  assert(cfg.layout && cfg.backend && cfg.gate && cfg.sync && cfg.stats && cfg.depth > 0);
  timer_ts_.tv_sec = cfg.park_recheck_ms / 1000;
  timer_ts_.tv_nsec = static_cast<long long>(cfg.park_recheck_ms % 1000) * 1000000;
}

void IoHandler::Submit(const IoRequest& r) noexcept {
  assert(r.tag < tags_.size());
  Tag& t = tags_[r.tag];
  assert(!t.busy);
  t.busy = true;
  t.admitted = false;
  t.start_ns = MonotonicNs();  // the request's FETCH completion (or the source's submit)
  t.req = r;
  t.result = 0;
  ++busy_;

  switch (r.op) {
    case ublk::kOpRead:
      t.cls = gate::OpClass::read;
      break;
    case ublk::kOpWrite:
    case ublk::kOpDiscard:
    case ublk::kOpWriteZeroes:
      t.cls = gate::OpClass::write;
      break;
    case ublk::kOpFlush:
      t.cls = gate::OpClass::flush;
      break;
    default:
      Finish(r.tag, -EOPNOTSUPP);
      return;
  }

  const VolumeLayout& l = *cfg_.layout;
  if (r.op == ublk::kOpFlush) {
    t.npieces = static_cast<std::uint8_t>(l.count);
    for (int i = 0; i < l.count; ++i) {
      t.op[i] = PieceOp::fsync;
      t.piece[i] = PieceRange{static_cast<std::uint8_t>(i), l.segs[i].volume_offset,
                              l.segs[i].drive_offset, 0, 0};
    }
    t.first_gate = static_cast<std::int8_t>(l.first_gate_index());
    t.last_gate = static_cast<std::int8_t>(l.last_gate_index());
  } else {
    const std::uint64_t bytes = std::uint64_t{r.nr_sectors} << 9;
    int first = 0, last = 0;
    int n = bytes <= UINT32_MAX
                ? SplitRange(l, r.start_sector << 9, static_cast<std::uint32_t>(bytes), t.piece,
                             &first, &last)
                : 0;
    if (n == 0) [[unlikely]] {  // empty or past the end: the kernel never sends these
      Finish(r.tag, -EIO);
      return;
    }
    const PieceOp op = r.op == ublk::kOpRead      ? PieceOp::read
                       : r.op == ublk::kOpWrite   ? PieceOp::write
                       : r.op == ublk::kOpDiscard ? PieceOp::discard
                                                  : PieceOp::write_zeroes;
    for (int i = 0; i < n; ++i) t.op[i] = op;
    t.npieces = static_cast<std::uint8_t>(n);
    t.first_gate = static_cast<std::int8_t>(first);
    t.last_gate = static_cast<std::int8_t>(last);
  }

  const std::uint64_t word = cfg_.gate->load();
  const int verdict = gate::decide(word, t.cls, t.first_gate, t.last_gate);
  if (verdict == 0) [[likely]] {
    Start(r.tag);
  } else if (verdict < 0) {
    QueueStats::bump(cfg_.stats->refused);
    Finish(r.tag, verdict);
  } else {
    Park(r.tag);
  }
}

void IoHandler::Start(std::uint16_t tag) noexcept {
  Tag& t = tags_[tag];
  t.admitted = true;
  // pending counts every piece up front, so a piece finishing synchronously can't complete
  // the request before the later pieces are started.
  t.pending = t.npieces;
  const std::uint8_t n = t.npieces;
  for (std::uint8_t i = 0; i < n; ++i) StartPiece(tag, i);
}

void IoHandler::StartPiece(std::uint16_t tag, std::uint8_t i) noexcept {
  Tag& t = tags_[tag];
  for (;;) {
    const PieceRange& p = t.piece[i];
    PieceIo io;
    io.op = t.op[i];
    io.no_unmap = (t.req.flags & ublk::kIoFlagNoUnmap) != 0;
    io.fua = (t.req.flags & ublk::kIoFlagFua) != 0;
    io.seg = p.seg;
    io.volume_offset = p.volume_offset;
    io.drive_offset = p.drive_offset;
    io.len = p.len;
    io.buf_index = t.req.buf_index;
    if (io.buf_index >= 0) {
      io.buf_offset = p.buf_offset;
    } else {
      io.buf = static_cast<char*>(t.req.buf) + p.buf_offset;
    }
    const int r = cfg_.backend->Start(io, ring_, encode_ud(UdKind::backend, tag, i));
    if (r == kQueued) [[likely]] {
      cfg_.sync->io_started();
      ++inflight_;
      return;
    }
    if (r == -EAGAIN) [[unlikely]] {  // no SQE could be had: not the drive's fault
      PieceFailed(t, i, EAGAIN, false);
      if (--t.pending == 0) Finish(tag, t.result);
      return;
    }
    if (!PieceDone(tag, i, r)) return;
  }
}

void IoHandler::PieceFailed(Tag& t, std::uint8_t i, int err, bool from_store) noexcept {
  const BackendFailure f = JudgeBackendError(err);
  if (t.result == 0) t.result = f.result;
  if (!from_store) return;
  QueueStats::bump(cfg_.stats->backend_errors);
  if (f.drive_failed && cfg_.on_backend_error && *cfg_.on_backend_error)
    (*cfg_.on_backend_error)(cfg_.layout->segs[t.piece[i].seg].gate_index, err);
}

bool IoHandler::PieceDone(std::uint16_t tag, std::uint8_t i, int res) noexcept {
  Tag& t = tags_[tag];
  PieceOp& op = t.op[i];
  PieceRange& p = t.piece[i];
  if (res < 0) {
    if (op == PieceOp::write_zeroes && res == -EOPNOTSUPP) {
      op = PieceOp::zero_fill;  // the store can't zero natively: write zeros instead
      return true;
    }
    if (!(op == PieceOp::discard && res == -EOPNOTSUPP)) PieceFailed(t, i, -res, true);
  } else if (op == PieceOp::read || op == PieceOp::write || op == PieceOp::zero_fill) {
    const auto done = static_cast<std::uint32_t>(res);
    if (done == 0) {
      PieceFailed(t, i, EIO, true);  // no progress (a read past the end of the store)
    } else if (done < p.len) {
      p.volume_offset += done;  // short transfer: go again for the remainder
      p.drive_offset += done;
      if (op != PieceOp::zero_fill) p.buf_offset += done;
      p.len -= done;
      return true;
    }
  }
  if (--t.pending == 0) Finish(tag, t.result);
  return false;
}

void IoHandler::Finish(std::uint16_t tag, int res) noexcept {
  Tag& t = tags_[tag];
  QueueStats& s = *cfg_.stats;
  if (t.admitted) {
    const std::uint64_t bytes = std::uint64_t{t.req.nr_sectors} << 9;
    switch (t.req.op) {
      case ublk::kOpRead:
        QueueStats::bump(s.reads);
        QueueStats::bump(s.read_bytes, bytes);
        QueueStats::record(s.read_latency, MonotonicNs() - t.start_ns);
        break;
      case ublk::kOpWrite:
        QueueStats::bump(s.writes);
        QueueStats::bump(s.write_bytes, bytes);
        QueueStats::record(s.write_latency, MonotonicNs() - t.start_ns);
        break;
      case ublk::kOpFlush:
        QueueStats::bump(s.flushes);
        break;
      case ublk::kOpDiscard:
        QueueStats::bump(s.discards);
        break;
      case ublk::kOpWriteZeroes:
        QueueStats::bump(s.write_zeroes);
        break;
    }
  }
  if (res == 0 && (t.req.op == ublk::kOpRead || t.req.op == ublk::kOpWrite))
    res = static_cast<int>(t.req.nr_sectors << 9);
  t.busy = false;
  --busy_;
  sink_->Complete(tag, res);
}

bool IoHandler::HandleCqe(std::uint64_t ud, int res) noexcept {
  switch (ud_kind(ud)) {
    case UdKind::backend: {
      --inflight_;
      cfg_.sync->io_done();
      const std::uint16_t tag = ud_tag(ud);
      const std::uint8_t i = ud_sub(ud);
      assert(tag < tags_.size() && tags_[tag].busy && i < tags_[tag].npieces);
      if (PieceDone(tag, i, res)) StartPiece(tag, i);
      return true;
    }
    case UdKind::timeout:
      timer_armed_ = false;
      return true;
    default:
      return false;
  }
}

void IoHandler::Park(std::uint16_t tag) noexcept {
  Tag& t = tags_[tag];
  t.park_deadline_ns = MonotonicNs() + std::uint64_t{cfg_.park_timeout_ms} * 1000000ull;
  t.park_pos = static_cast<std::uint16_t>(nparked_);
  parked_[nparked_++] = tag;
  cfg_.stats->parked.store(nparked_, std::memory_order_relaxed);
}

void IoHandler::Unpark(std::uint32_t pos) noexcept {
  const std::uint16_t moved = parked_[--nparked_];
  parked_[pos] = moved;
  tags_[moved].park_pos = static_cast<std::uint16_t>(pos);
}

void IoHandler::AfterBatch() noexcept {
  if (nparked_ == 0) [[likely]]
    return;
  const std::uint64_t now = MonotonicNs();
  const std::uint64_t word = cfg_.gate->load();
  const bool stopping = cfg_.stopping && cfg_.stopping->load(std::memory_order_relaxed);
  // Backwards: Unpark() moves the last entry (already visited) into the freed slot.
  for (std::uint32_t pos = nparked_; pos-- > 0;) {
    const std::uint16_t tag = parked_[pos];
    Tag& t = tags_[tag];
    int v = stopping ? -ENODEV : gate::decide(word, t.cls, t.first_gate, t.last_gate);
    if (v == gate::kPark) {
      if (now < t.park_deadline_ns) continue;
      v = -ENODEV;  // the drive did not become ready in time
    }
    Unpark(pos);
    if (v == 0) {
      Start(tag);
    } else {
      QueueStats::bump(cfg_.stats->refused);
      Finish(tag, v);
    }
  }
  cfg_.stats->parked.store(nparked_, std::memory_order_relaxed);
  if (nparked_ > 0 && !timer_armed_) ArmTimer();
}

void IoHandler::ArmTimer() noexcept {
  io_uring_sqe* sqe = GetSqe(ring_);
  if (!sqe) return;  // try again after the next batch
  io_uring_prep_timeout(sqe, &timer_ts_, 0, 0);
  io_uring_sqe_set_data64(sqe, encode_ud(UdKind::timeout));
  timer_armed_ = true;
}

}  // namespace blkgate::io
