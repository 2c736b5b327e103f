// fuzz/state.cpp — libFuzzer target: Catalog::FromJson (the state file loader) on any bytes.
//
// Invariants: a failed load leaves the catalog untouched; a loaded catalog writes out
// (ToJson) to text that loads again to an equal catalog, and the extent arithmetic on it
// (Segments, EffectiveGateWord, FindFreeExtent) holds: a volume's segments cover it exactly,
// each inside its drive.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "blkgate/model.h"
#include "check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace blkgate;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  static const Catalog kUntouched = [] {
    Catalog c;
    (void)c.AddDrive({"keep", "/keep.img", 1 << 20, DriveStatus::online, {}});
    return c;
  }();
  Catalog c = kUntouched;
  if (!c.FromJson(text).ok()) {
    FUZZ_CHECK(c == kUntouched);
    return 0;
  }
  Catalog back;
  FUZZ_CHECK(back.FromJson(c.ToJson()).ok());
  FUZZ_CHECK(back == c);
  for (const auto& [name, v] : c.volumes()) {
    std::uint64_t covered = 0;
    for (const Segment& s : c.Segments(v)) {
      const Drive* d = c.drive(s.drive);
      FUZZ_CHECK(d != nullptr && s.length > 0);
      FUZZ_CHECK(s.volume_offset == covered);
      FUZZ_CHECK(s.drive_offset <= d->size && s.length <= d->size - s.drive_offset);
      covered += s.length;
    }
    FUZZ_CHECK(covered == v.size);
    (void)EffectiveGateWord(c, v);
  }
  for (const auto& [name, k] : c.disks()) {
    std::uint64_t offset = 0;
    if (c.FindFreeExtent(name, 1 << 20, 1 << 20, &offset).ok()) {
      FUZZ_CHECK(offset % (1 << 20) == 0);
      FUZZ_CHECK(offset <= c.DiskSize(name) && (1 << 20) <= c.DiskSize(name) - offset);
    }
  }
  return 0;
}
