// gate/backend_file.cpp — regular files and block devices, one per segment of the volume.
//
// Every operation is an SQE on the calling queue's ring, with the backing fd registered in
// that ring at kBackingSlot0 + segment:
//   read / write / zero_fill  IORING_OP_READ / IORING_OP_WRITE (zero_fill from a shared zero
//                             buffer the kernel only reads); zero copy: IORING_OP_READ_FIXED /
//                             WRITE_FIXED on the request's own pages, registered by ublk as
//                             fixed buffer PieceIo::buf_index of the ring
//   FUA (write, zero_fill)    the same write with RWF_DSYNC: on O_DIRECT block devices a
//                             REQ_FUA bio, on files the file system's own data sync of the
//                             range, so only that write is made durable, not the whole store
//   fsync                     IORING_OP_FSYNC with IORING_FSYNC_DATASYNC
//   discard                   files: IORING_OP_FALLOCATE(PUNCH_HOLE|KEEP_SIZE);
//                             block devices: BLOCK_URING_CMD_DISCARD (Linux >= 6.12; older
//                             kernels answer -EOPNOTSUPP and the handler treats the advisory
//                             discard as done)
//   write_zeroes              IORING_OP_FALLOCATE: ZERO_RANGE with NOUNMAP, else PUNCH_HOLE
//                             (on block devices both map to blkdev zero-out); -EOPNOTSUPP
//                             makes the handler fall back to zero_fill writes
// IORING_OP_FALLOCATE always runs in io_uring's worker threads, so the queue thread never
// blocks, and nothing here uses the blocking BLKDISCARD/BLKZEROOUT ioctls.
//
// O_DIRECT is used where the store accepts direct I/O at the alignment the volume exposes;
// otherwise the drive is opened buffered, with a log line saying why.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "backend.h"
#include "io_fd.h"
#include "io_log.h"
#include "io_ring.h"

#ifndef BLOCK_URING_CMD_DISCARD
// Block device io_uring command (Linux 6.12 include/uapi/linux/blkdev.h): sqe->addr = byte
// offset, sqe->addr3 = byte length.
#define BLOCK_URING_CMD_DISCARD _IO(0x12, 0)
#endif

namespace blkgate::io {
namespace {

struct Drive {
  UniqueFd fd;
  bool block_device = false;
  bool direct = false;
  std::uint32_t lbs = 512;  // alignment direct I/O needs (bdev logical block size)
};

class FileBackend final : public Backend {
 public:
  FileBackend(std::vector<Drive> drives, Mapping zeros, std::uint32_t lbs)
      : drives_(std::move(drives)), zeros_(std::move(zeros)), lbs_(lbs) {}

  BackendKind kind() const noexcept override { return BackendKind::file; }
  std::vector<int> fds() const override {
    std::vector<int> v;
    for (const Drive& d : drives_) v.push_back(d.fd.get());
    return v;
  }
  std::uint32_t logical_block_size() const noexcept override { return lbs_; }
  bool fixed_buffers() const noexcept override { return true; }
  std::uint32_t zero_fill_max() const noexcept override {
    return static_cast<std::uint32_t>(zeros_.size());
  }

  int Start(const PieceIo& p, io_uring* ring, std::uint64_t ud) noexcept override {
    io_uring_sqe* sqe = GetSqe(ring);
    if (!sqe) [[unlikely]]
      return -EAGAIN;
    const int slot = kBackingSlot0 + p.seg;
    const Drive& d = drives_[p.seg];
    switch (p.op) {
      case PieceOp::read:
        if (p.buf_index >= 0) {
          // A kernel-registered buffer (ublk's request pages) starts at address 0: the
          // address is the offset within it.
          io_uring_prep_read_fixed(sqe, slot, FixedAddr(p), p.len, p.drive_offset, p.buf_index);
        } else {
          io_uring_prep_read(sqe, slot, p.buf, p.len, p.drive_offset);
        }
        break;
      case PieceOp::write:
        if (p.buf_index >= 0) {
          io_uring_prep_write_fixed(sqe, slot, FixedAddr(p), p.len, p.drive_offset, p.buf_index);
        } else {
          io_uring_prep_write(sqe, slot, p.buf, p.len, p.drive_offset);
        }
        break;
      case PieceOp::zero_fill:
        io_uring_prep_write(sqe, slot, zeros_.get(),
                            std::min<std::uint32_t>(p.len, zero_fill_max()), p.drive_offset);
        break;
      case PieceOp::fsync:
        io_uring_prep_fsync(sqe, slot, IORING_FSYNC_DATASYNC);
        break;
      case PieceOp::discard:
        if (d.block_device) {
          PrepUringCmd(sqe, false, slot, true, BLOCK_URING_CMD_DISCARD, ud);
          sqe->addr = p.drive_offset;
          sqe->addr3 = p.len;
          return kQueued;
        }
        io_uring_prep_fallocate(sqe, slot, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                static_cast<off_t>(p.drive_offset), p.len);
        break;
      case PieceOp::write_zeroes:
        io_uring_prep_fallocate(
            sqe, slot,
            (p.no_unmap ? FALLOC_FL_ZERO_RANGE : FALLOC_FL_PUNCH_HOLE) | FALLOC_FL_KEEP_SIZE,
            static_cast<off_t>(p.drive_offset), p.len);
        break;
    }
    if (p.fua && (p.op == PieceOp::write || p.op == PieceOp::zero_fill)) sqe->rw_flags = RWF_DSYNC;
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, ud);
    return kQueued;
  }

  static void* FixedAddr(const PieceIo& p) noexcept {
    return reinterpret_cast<void*>(static_cast<std::uintptr_t>(p.buf_offset));
  }

  Result FlushAll() override {
    for (std::size_t i = 0; i < drives_.size(); ++i)
      if (::fdatasync(drives_[i].fd.get()) != 0)
        return Result::FromErrno(errno, "fdatasync backing store " + std::to_string(i));
    return Result::Ok();
  }

 private:
  std::vector<Drive> drives_;
  Mapping zeros_;
  std::uint32_t lbs_;
};

// Largest power-of-two alignment (512..4096) at which an O_DIRECT read at offset 0 works, or 0
// when direct reads fail at every alignment.
std::uint32_t ProbeDirectAlignment(int fd) {
  Mapping buf = Mapping::Anonymous(4096);
  if (!buf.valid()) return 0;
  for (std::uint32_t a = 512; a <= 4096; a *= 2) {
    if (::pread(fd, buf.get(), a, 0) >= 0) return a;
    if (errno != EINVAL) return 0;
  }
  return 0;
}

Result OpenDrive(const std::string& path, const LayoutSegment& seg, const FileBackendOptions& opt,
                 Drive* out) {
  int access = opt.read_only ? O_RDONLY : O_RDWR;
  if (access == O_RDWR && opt.read_only_fallback) {
    // errno is the open's: the probe is closed (at the end of the statement) only when valid.
    const bool writable = UniqueFd(::open(path.c_str(), O_RDWR | O_CLOEXEC)).valid();
    if (!writable && (errno == EROFS || errno == EACCES)) {
      LogLine("%s: not writable (%s); opened read-only", path.c_str(), std::strerror(errno));
      access = O_RDONLY;
    }
  }
  int fd = -1;
  bool direct = false;
  if (opt.allow_direct) {
    fd = ::open(path.c_str(), access | O_DIRECT | O_CLOEXEC);
    direct = fd >= 0;
    if (fd < 0 && errno != EINVAL) return Result::FromErrno(errno, "open backing store " + path);
  }
  if (fd < 0) fd = ::open(path.c_str(), access | O_CLOEXEC);
  if (fd < 0) return Result::FromErrno(errno, "open backing store " + path);
  Drive d;
  d.fd.reset(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Result::FromErrno(errno, "stat " + path);
  std::uint64_t size = 0;
  if (S_ISBLK(st.st_mode)) {
    d.block_device = true;
    if (::ioctl(fd, BLKGETSIZE64, &size) != 0)
      return Result::FromErrno(errno, "BLKGETSIZE64 " + path);
    int ssz = 512;
    if (::ioctl(fd, BLKSSZGET, &ssz) == 0 && ssz > 512) d.lbs = static_cast<std::uint32_t>(ssz);
  } else if (S_ISREG(st.st_mode)) {
    size = static_cast<std::uint64_t>(st.st_size);
  } else {
    return Result::Error(Code::invalid_argument,
                         "backing store " + path + " is neither a regular file nor a block device");
  }
  if (size < seg.drive_offset + seg.length)
    return Result::Error(Code::invalid_argument, "backing store " + path + " has " +
                                                     std::to_string(size) +
                                                     " bytes, the volume needs " +
                                                     std::to_string(seg.drive_offset + seg.length));
  if (direct && !d.block_device) {
    std::uint32_t a = ProbeDirectAlignment(fd);
    if (a == 0) {
      direct = false;
      LogLine("%s: direct I/O does not work here; using buffered I/O", path.c_str());
    } else {
      d.lbs = a;
    }
  } else if (!direct && opt.allow_direct) {
    LogLine("%s: O_DIRECT not supported; using buffered I/O", path.c_str());
  }
  d.direct = direct;
  *out = std::move(d);
  return Result::Ok();
}

// Reopen without O_DIRECT (keeping access mode).
Result ReopenBuffered(const std::string& path, bool read_only, Drive* d) {
  int fd = ::open(path.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) return Result::FromErrno(errno, "open backing store " + path);
  d->fd.reset(fd);
  d->direct = false;
  d->lbs = 512;
  return Result::Ok();
}

}  // namespace

Result OpenFileBackend(const VolumeLayout& layout, const std::vector<std::string>& paths,
                       const FileBackendOptions& opt, std::unique_ptr<Backend>* out) {
  if (paths.size() != static_cast<std::size_t>(layout.count))
    return Result::Error(Code::invalid_argument,
                         "file backend: one backing path per segment needed");
  std::vector<Drive> drives(paths.size());
  for (int i = 0; i < layout.count; ++i)
    BLKGATE_TRY(OpenDrive(paths[i], layout.segs[i], opt, &drives[i]));

  // The volume's logical block: the largest any direct drive needs, if the volume and every
  // segment boundary are aligned to it; drives that would be misaligned go buffered.
  std::uint32_t lbs = 512;
  for (const Drive& d : drives)
    if (d.direct || d.block_device) lbs = std::max(lbs, d.lbs);
  auto aligned = [&](std::uint32_t a) {
    if (layout.size % a) return false;
    for (int i = 0; i < layout.count; ++i) {
      const LayoutSegment& s = layout.segs[i];
      if (s.volume_offset % a || s.drive_offset % a || s.length % a) return false;
    }
    return true;
  };
  if (lbs > 4096 || !aligned(lbs)) {
    for (int i = 0; i < layout.count; ++i) {
      Drive& d = drives[i];
      if (d.lbs > 512 && d.direct) {
        LogLine(
            "%s: needs %u-byte aligned direct I/O the volume's layout can't guarantee; "
            "using buffered I/O",
            paths[i].c_str(), d.lbs);
        BLKGATE_TRY(ReopenBuffered(paths[i], opt.read_only, &d));
      }
    }
    lbs = 512;
    for (const Drive& d : drives)
      if (d.block_device && d.lbs > lbs && aligned(d.lbs) && d.lbs <= 4096) lbs = d.lbs;
  }

  Mapping zeros = Mapping::Anonymous(opt.zero_fill_bytes);
  if (!zeros.valid()) return Result::FromErrno(errno, "file backend: zero buffer");
  *out = std::make_unique<FileBackend>(std::move(drives), std::move(zeros), lbs);
  return Result::Ok();
}

}  // namespace blkgate::io
