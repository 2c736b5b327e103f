// gate/backend.h — where a volume's bytes live: one interface, one small unit per kind.
//
//   file  (backend_file.cpp)  regular files and block devices, one per segment; I/O as SQEs on
//                             the queue's own ring, so a queue thread never blocks on it.
//   null  (backend_null.cpp)  reads return zeros, everything else succeeds and is dropped.
//   mem   (backend_mem.cpp)   RAM sized to the volume, served synchronously.
//
// The request handler (io_handler.h) splits a request into pieces (one per segment) and calls
// Start() for each. A backend either prepares one SQE on the ring (returns kQueued; the CQE
// comes back to the handler with the given user_data) or finishes at once and returns the
// result (bytes done >= 0, or -errno).
//
// Thread-safety: a Backend is shared by every queue of the volume; Start() is called
// concurrently from queue threads and must only touch per-call state and the given ring.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "blkgate/model.h"
#include "blkgate/result.h"
#include "io_layout.h"

namespace blkgate::io {

enum class PieceOp : std::uint8_t {
  read,
  write,
  fsync,         // fdatasync the segment's drive (FLUSH fans out to every segment)
  discard,       // advisory: -EOPNOTSUPP from the backing store counts as success
  write_zeroes,  // zero the range; -EOPNOTSUPP makes the handler fall back to zero_fill
  zero_fill,     // write zeros from a zero buffer, at most zero_fill_max() bytes per call
};

struct PieceIo {
  PieceOp op = PieceOp::read;
  bool no_unmap = false;  // WRITE_ZEROES with UBLK_IO_F_NOUNMAP: keep the range allocated
  // A write with UBLK_IO_F_FUA: durable before it completes (the file backend writes it with
  // RWF_DSYNC; mem and null hold nothing a flush would keep, so they ignore it).
  bool fua = false;
  std::uint8_t seg = 0;  // VolumeLayout::segs index
  std::uint64_t volume_offset = 0;
  std::uint64_t drive_offset = 0;
  std::uint32_t len = 0;
  void* buf = nullptr;  // read/write only, when buf_index < 0
  // Zero copy (read/write only): the data is fixed buffer buf_index of the ring, at byte
  // buf_offset of it. Only backends whose fixed_buffers() is true get buf_index >= 0.
  int buf_index = -1;
  std::uint32_t buf_offset = 0;
};

// Start() prepared an SQE; the result arrives as that SQE's CQE.
inline constexpr int kQueued = 1 << 30;

// Registered-file slots of a queue ring: slot 0 is the ublk char device (or empty), backing
// file i is slot kBackingSlot0 + i.
inline constexpr int kBackingSlot0 = 1;

class Backend {
 public:
  virtual ~Backend() = default;
  virtual BackendKind kind() const noexcept = 0;
  // The fds to register on each queue ring at kBackingSlot0 + i (empty when none).
  virtual std::vector<int> fds() const { return {}; }
  // Whether Start() can take read/write pieces in a ring's fixed buffer (PieceIo::buf_index):
  // the zero-copy data path. The file backend can; mem and null copy (what suits them).
  virtual bool fixed_buffers() const noexcept { return false; }
  // Largest logical block size of the backing stores (512 when it does not matter).
  virtual std::uint32_t logical_block_size() const noexcept { return 512; }
  // Start one piece on `ring`. Returns kQueued, or the result of a synchronous completion.
  // REQUIRES: the piece lies inside its segment; buf valid for len bytes for read/write.
  virtual int Start(const PieceIo& p, io_uring* ring, std::uint64_t user_data) noexcept = 0;
  // Bytes a single zero_fill Start() may write (the handler loops on the remainder).
  virtual std::uint32_t zero_fill_max() const noexcept { return 1u << 20; }
  // fdatasync every backing store (control plane; may block).
  virtual Result FlushAll() { return Result::Ok(); }
};

// Options for opening file backends.
struct FileBackendOptions {
  bool read_only = false;  // open O_RDONLY (writes then fail with EBADF -> EIO)
  // Open O_RDONLY when read-write is refused (EROFS/EACCES), with a log line: for volumes
  // created read-only on read-only stores.
  bool read_only_fallback = false;
  bool allow_direct = true;  // try O_DIRECT first
  std::uint32_t zero_fill_bytes = 512 * 1024;
};

// Opens each segment's backing path once (O_DIRECT where the store allows aligned direct I/O
// at the segment's offsets, buffered otherwise, with a log line). Checks each store is large
// enough for its segment. paths[i] backs layout.segs[i].
Result OpenFileBackend(const VolumeLayout& layout, const std::vector<std::string>& paths,
                       const FileBackendOptions& opt, std::unique_ptr<Backend>* out);
std::unique_ptr<Backend> MakeNullBackend();
// RAM for `size` bytes (lazily backed by anonymous memory). io_error when it can't be mapped.
Result MakeMemBackend(std::uint64_t size, std::unique_ptr<Backend>* out);

}  // namespace blkgate::io
