// blkgate/unique_fd.h — the one owner of a file descriptor: closed when the owner goes away.
//
// Usage:
//   blkgate::UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
//   if (!fd.valid()) return Result::FromErrno(errno, "open " + path);
//   ::read(fd.get(), ...);  // closed on every return path
//
// Move-only; a moved-from UniqueFd holds no descriptor (-1). The error of close() is ignored:
// callers that must see it (a durable write) fsync first. This is the only place in lib/, gate/,
// ctl/ and tests/ that calls close() or closedir(): a directory stream is a UniqueDir.
//
// Thread-safety: none; each handle has one owner.
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <memory>
#include <utility>

namespace blkgate {

class UniqueFd {
 public:
  UniqueFd() = default;
  // Takes ownership of fd (any negative value means none).
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  // Gives the descriptor up without closing it; the caller owns it now.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  // Closes the descriptor held (if any) and takes ownership of fd.
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd < 0 ? -1 : fd;
  }

 private:
  int fd_ = -1;
};

// The one owner of a directory stream: UniqueDir d(::opendir(path)); closedir'd on every path.
struct DirCloser {
  void operator()(DIR* d) const noexcept { ::closedir(d); }
};
using UniqueDir = std::unique_ptr<DIR, DirCloser>;

}  // namespace blkgate
