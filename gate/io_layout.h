// gate/io_layout.h — a volume's extent mapped onto its drives, and request splitting.
//
// A volume is a concatenation of up to gate::kMaxSegments pieces of drives (Segment in
// model.h). A request [offset, offset + len) is split into one piece per segment it touches.
// Pure functions, no syscalls: unit tested natively.
//
// Thread-safety: a VolumeLayout is immutable after Build() and shared by all queue threads.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "blkgate/gate.h"
#include "blkgate/model.h"
#include "blkgate/result.h"

namespace blkgate::io {

inline constexpr int kMaxPieces = gate::kMaxSegments;

struct LayoutSegment {
  std::uint64_t volume_offset = 0;
  std::uint64_t drive_offset = 0;
  std::uint64_t length = 0;
  int gate_index = 0;  // Segment::index: the drive's slot in the gate word
};

struct VolumeLayout {
  std::uint64_t size = 0;  // bytes
  int count = 0;
  std::array<LayoutSegment, kMaxPieces> segs{};

  // Validates (invalid_argument): size > 0 and a multiple of 512; 1..kMaxSegments segments in
  // volume order, each non-empty and 512-aligned, contiguous from 0 and covering exactly
  // [0, size); gate indexes in [0, kMaxSegments).
  static Result Build(std::uint64_t size, const std::vector<Segment>& segments, VolumeLayout* out);

  // The gate-word slots a flush touches (all segments).
  int first_gate_index() const noexcept { return segs[0].gate_index; }
  int last_gate_index() const noexcept { return segs[count - 1].gate_index; }
};

struct PieceRange {
  std::uint8_t seg = 0;             // index into VolumeLayout::segs
  std::uint64_t volume_offset = 0;  // byte offset in the volume
  std::uint64_t drive_offset = 0;   // byte offset in the drive
  std::uint32_t buf_offset = 0;     // byte offset in the request's buffer
  std::uint32_t len = 0;
};

// Split [offset, offset + len) into per-segment pieces, in volume order. Returns the number of
// pieces written to `out` (>= 1), or 0 when len == 0 or the range is outside the volume.
// Gate indexes of the first and last piece's segments go to *first_gate / *last_gate.
int SplitRange(const VolumeLayout& layout, std::uint64_t offset, std::uint32_t len,
               PieceRange (&out)[kMaxPieces], int* first_gate, int* last_gate) noexcept;

}  // namespace blkgate::io
