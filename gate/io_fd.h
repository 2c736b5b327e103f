// gate/io_fd.h — RAII handles for file descriptors (blkgate/unique_fd.h) and memory mappings.
//
// Thread-safety: none; each handle has one owner.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <utility>

#include "blkgate/unique_fd.h"

namespace blkgate::io {

// The data path names it io::UniqueFd; it is the library's one fd owner.
using UniqueFd = blkgate::UniqueFd;

// An mmap()ed region, unmapped on destruction.
class Mapping {
 public:
  Mapping() = default;
  Mapping(void* addr, std::size_t len) noexcept : addr_(addr), len_(len) {}
  Mapping(Mapping&& o) noexcept
      : addr_(std::exchange(o.addr_, nullptr)), len_(std::exchange(o.len_, 0)) {}
  Mapping& operator=(Mapping&& o) noexcept {
    if (this != &o) {
      reset();
      addr_ = std::exchange(o.addr_, nullptr);
      len_ = std::exchange(o.len_, 0);
    }
    return *this;
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { reset(); }

  // Anonymous private read-write memory (zero-filled, page aligned). Empty on failure.
  static Mapping Anonymous(std::size_t len) noexcept {
    void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return {};
    return {p, len};
  }

  void* get() const noexcept { return addr_; }
  std::size_t size() const noexcept { return len_; }
  bool valid() const noexcept { return addr_ != nullptr; }
  void reset() noexcept {
    if (addr_) ::munmap(addr_, len_);
    addr_ = nullptr;
    len_ = 0;
  }

 private:
  void* addr_ = nullptr;
  std::size_t len_ = 0;
};

}  // namespace blkgate::io
