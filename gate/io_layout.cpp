// gate/io_layout.cpp — see io_layout.h.
#include "io_layout.h"

#include <algorithm>
#include <string>

namespace blkgate::io {

Result VolumeLayout::Build(std::uint64_t size, const std::vector<Segment>& segments,
                           VolumeLayout* out) {
  auto bad = [](std::string what) { return Result::InvalidArgument(std::move(what)); };
  if (size == 0 || size % kSectorSize != 0)
    return bad("volume size must be a non-zero multiple of 512");
  if (segments.empty()) return bad("volume has no segments");
  if (segments.size() > static_cast<std::size_t>(kMaxPieces))
    return bad("volume spans more than " + std::to_string(kMaxPieces) + " drives");
  VolumeLayout l;
  l.size = size;
  std::uint64_t expect = 0;
  for (const Segment& s : segments) {
    if (s.length == 0 || s.length % kSectorSize || s.drive_offset % kSectorSize ||
        s.volume_offset % kSectorSize)
      return bad("segment on drive '" + s.drive + "' is empty or not 512-byte aligned");
    if (s.volume_offset != expect)
      return bad("segments are not contiguous at volume offset " + std::to_string(expect));
    if (s.index < 0 || s.index >= gate::kMaxSegments)
      return bad("segment on drive '" + s.drive + "' has gate index out of range");
    l.segs[l.count++] = {s.volume_offset, s.drive_offset, s.length, s.index};
    expect += s.length;
  }
  if (expect != size)
    return bad("segments cover " + std::to_string(expect) + " bytes, volume is " +
               std::to_string(size));
  *out = l;
  return Result::Ok();
}

int SplitRange(const VolumeLayout& layout, std::uint64_t offset, std::uint32_t len,
               PieceRange (&out)[kMaxPieces], int* first_gate, int* last_gate) noexcept {
  if (len == 0 || offset >= layout.size || len > layout.size - offset) return 0;
  // Last segment starting at or before offset (segments are sorted and contiguous).
  const LayoutSegment* begin = layout.segs.data();
  const LayoutSegment* end = begin + layout.count;
  const LayoutSegment* s = std::upper_bound(begin, end, offset,
                                            [](std::uint64_t off, const LayoutSegment& seg) {
                                              return off < seg.volume_offset;
                                            }) -
                           1;
  int n = 0;
  std::uint32_t done = 0;
  while (done < len) {
    const std::uint64_t in_seg = offset + done - s->volume_offset;
    const std::uint64_t avail = s->length - in_seg;
    const std::uint32_t take =
        static_cast<std::uint32_t>(std::min<std::uint64_t>(avail, len - done));
    PieceRange& p = out[n++];
    p.seg = static_cast<std::uint8_t>(s - begin);
    p.volume_offset = offset + done;
    p.drive_offset = s->drive_offset + in_seg;
    p.buf_offset = done;
    p.len = take;
    done += take;
    ++s;
  }
  *first_gate = layout.segs[out[0].seg].gate_index;
  *last_gate = layout.segs[out[n - 1].seg].gate_index;
  return n;
}

}  // namespace blkgate::io
