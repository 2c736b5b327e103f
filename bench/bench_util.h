// bench/bench_util.h — small helpers shared by the benchmark programs (not part of blkgate).
//
// SealedVolume: the per-volume state every queue thread of a volume shares — its GateWord and
// its VolumeLayout — placed alone on one page that can be made read-only (mprotect) while
// requests run. A benchmark that pushes requests through the real handler with the page
// sealed proves the per-request path never writes the shared volume state: a single store to
// it would be a SIGSEGV, not a slowdown.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "bench_stats.h"
#include "blkgate/gate.h"
#include "blkgate/model.h"
#include "io_layout.h"

namespace blkgate::bench {

// Aborts with a message: benchmark setup failures are programming or environment errors.
[[noreturn]] inline void Die(const std::string& what) {
  std::fprintf(stderr, "bench: %s\n", what.c_str());
  std::exit(2);
}

// One segment covering [0, size) of drive slot 0.
inline io::VolumeLayout OneSegmentLayout(std::uint64_t size) {
  Segment s;
  s.drive = "d0";
  s.index = 0;
  s.volume_offset = 0;
  s.drive_offset = 0;
  s.length = size;
  io::VolumeLayout l;
  Result r = io::VolumeLayout::Build(size, {s}, &l);
  if (!r.ok()) Die("layout: " + r.ToString());
  return l;
}

class SealedVolume {
 public:
  explicit SealedVolume(std::uint64_t size) {
    page_ = static_cast<long>(::sysconf(_SC_PAGESIZE));
    void* p = ::mmap(nullptr, static_cast<std::size_t>(page_), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) Die("mmap shared volume page");
    mem_ = p;
    static_assert(sizeof(Shared) <= 4096);
    s_ = new (p) Shared{};
    s_->layout = OneSegmentLayout(size);
  }
  ~SealedVolume() {
    Unseal();
    s_->~Shared();
    ::munmap(mem_, static_cast<std::size_t>(page_));
  }
  SealedVolume(const SealedVolume&) = delete;
  SealedVolume& operator=(const SealedVolume&) = delete;

  gate::GateWord* gate() { return &s_->gate; }
  const io::VolumeLayout* layout() const { return &s_->layout; }

  // Read-only from now on: any write to the gate word or the layout faults.
  void Seal() {
    if (::mprotect(mem_, static_cast<std::size_t>(page_), PROT_READ) != 0) Die("mprotect");
    sealed_ = true;
  }
  void Unseal() {
    if (sealed_ && ::mprotect(mem_, static_cast<std::size_t>(page_), PROT_READ | PROT_WRITE) != 0)
      Die("mprotect");
    sealed_ = false;
  }

 private:
  struct Shared {
    gate::GateWord gate;
    io::VolumeLayout layout;
  };
  void* mem_ = nullptr;
  long page_ = 4096;
  Shared* s_ = nullptr;
  bool sealed_ = false;
};

}  // namespace blkgate::bench
