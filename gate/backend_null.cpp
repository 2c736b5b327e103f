// gate/backend_null.cpp — reads return zeros; writes, flushes, discards are dropped.
#include <cstring>

#include "backend.h"

namespace blkgate::io {
namespace {

class NullBackend final : public Backend {
 public:
  BackendKind kind() const noexcept override { return BackendKind::null; }
  int Start(const PieceIo& p, io_uring*, std::uint64_t) noexcept override {
    if (p.op == PieceOp::read) std::memset(p.buf, 0, p.len);
    // fsync / discard / write_zeroes report 0 bytes; read/write/zero_fill report len.
    switch (p.op) {
      case PieceOp::fsync:
      case PieceOp::discard:
      case PieceOp::write_zeroes:
        return 0;
      default:
        return static_cast<int>(p.len);
    }
  }
};

}  // namespace

std::unique_ptr<Backend> MakeNullBackend() {
  return std::make_unique<NullBackend>();
}

}  // namespace blkgate::io
