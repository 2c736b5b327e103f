// gate/backend_mem.cpp — the volume in RAM (anonymous memory, populated as it is written).
//
// Pieces are addressed by volume offset: the segments don't matter to RAM. Concurrent queue
// threads touching the same bytes race exactly as concurrent requests to a disk would.
#include <cerrno>
#include <cstring>

#include "backend.h"
#include "io_fd.h"

namespace blkgate::io {
namespace {

class MemBackend final : public Backend {
 public:
  explicit MemBackend(Mapping m) : mem_(std::move(m)) {}
  BackendKind kind() const noexcept override { return BackendKind::mem; }

  int Start(const PieceIo& p, io_uring*, std::uint64_t) noexcept override {
    char* base = static_cast<char*>(mem_.get()) + p.volume_offset;
    switch (p.op) {
      case PieceOp::read:
        std::memcpy(p.buf, base, p.len);
        return static_cast<int>(p.len);
      case PieceOp::write:
        std::memcpy(base, p.buf, p.len);
        return static_cast<int>(p.len);
      case PieceOp::fsync:
        return 0;
      case PieceOp::discard:
      case PieceOp::write_zeroes:
        std::memset(base, 0, p.len);
        return 0;
      case PieceOp::zero_fill:
        std::memset(base, 0, p.len);
        return static_cast<int>(p.len);
    }
    return -EINVAL;
  }

 private:
  Mapping mem_;
};

}  // namespace

Result MakeMemBackend(std::uint64_t size, std::unique_ptr<Backend>* out) {
  Mapping m = Mapping::Anonymous(size);
  if (!m.valid())
    return Result::FromErrno(errno, "mem backend: mmap " + std::to_string(size) + " bytes");
  *out = std::make_unique<MemBackend>(std::move(m));
  return Result::Ok();
}

}  // namespace blkgate::io
