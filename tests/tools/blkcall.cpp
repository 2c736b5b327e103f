// tests/tools/blkcall — make one system call on a block device and print its outcome by name.
//
//   blkcall DEV OP [ARGS...]
//
// Prints one line: "ok" (followed by the value, for the getters) or the name of the errno the
// call failed with ("ENODEV", "EBUSY", ...; "open: EBUSY" when opening DEV failed). Exit status
// 0 when the call succeeded, 1 when it failed, 2 for bad usage. The VM tests use it where the
// util-linux tools print a translated message instead of the errno (mount(8)), and to make each
// call on a plain, non-exclusive open so the outcome is the call's own (blkdiscard, for one,
// opens the device O_EXCL first).
//
// Ops (DEV is opened O_RDWR unless said otherwise):
//   getsize64 | getsize | ssz | pbsz | roget   BLKGETSIZE64, BLKGETSIZE, BLKSSZGET, BLKPBSZGET,
//                                               BLKROGET; prints the value
//   roset 0|1                                   BLKROSET
//   flsbuf                                      BLKFLSBUF
//   rrpart                                      BLKRRPART
//   bszset BYTES                                BLKBSZSET
//   discard|zeroout|secdiscard OFFSET LENGTH    BLKDISCARD, BLKZEROOUT, BLKSECDISCARD (bytes)
//   fsync | fdatasync                           on a clean open (nothing written through it)
//   write-fsync OFFSET                          buffered 4 KiB write at OFFSET, then fsync
//   open-excl                                   open(O_RDONLY | O_EXCL) only
//   mount FSTYPE DIR                            mount(2) DEV on DIR (no open of DEV here)
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "blkgate/unique_fd.h"

namespace {

int Usage() {
  std::fputs(
      "usage: blkcall DEV OP [ARGS...]\n"
      "  OP: getsize64 | getsize | ssz | pbsz | roget | roset 0|1 | flsbuf | rrpart |\n"
      "      bszset BYTES | discard|zeroout|secdiscard OFFSET LENGTH | fsync | fdatasync |\n"
      "      write-fsync OFFSET | open-excl | mount FSTYPE DIR\n",
      stderr);
  return 2;
}

const char* ErrnoName(int err) {
  const char* n = strerrorname_np(err);
  return n ? n : "E?";
}

int Failed(const char* what, int err) {
  if (what)
    std::printf("%s: %s\n", what, ErrnoName(err));
  else
    std::printf("%s\n", ErrnoName(err));
  return 1;
}

bool ParseU64(const char* s, std::uint64_t* out) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 0);
  if (errno != 0 || end == s || *end != '\0') return false;
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return Usage();
  const char* dev = argv[1];
  const std::string op = argv[2];
  const int nargs = argc - 3;
  char** args = argv + 3;

  if (op == "mount") {
    if (nargs != 2) return Usage();
    if (::mount(dev, args[1], args[0], 0, nullptr) != 0) return Failed(nullptr, errno);
    std::puts("ok");
    return 0;
  }
  if (op == "open-excl") {
    if (nargs != 0) return Usage();
    const blkgate::UniqueFd fd(::open(dev, O_RDONLY | O_EXCL | O_CLOEXEC));
    if (!fd.valid()) return Failed(nullptr, errno);
    std::puts("ok");
    return 0;
  }

  const blkgate::UniqueFd owner(::open(dev, O_RDWR | O_CLOEXEC));
  if (!owner.valid()) return Failed("open", errno);
  const int fd = owner.get();

  int rc = -1;
  std::string value;  // printed after "ok" for the getters
  if (op == "getsize64" || op == "getsize" || op == "ssz" || op == "pbsz" || op == "roget") {
    if (nargs != 0) return Usage();
    if (op == "getsize64") {
      std::uint64_t v = 0;
      rc = ::ioctl(fd, BLKGETSIZE64, &v);
      value = std::to_string(v);
    } else if (op == "getsize") {
      unsigned long v = 0;
      rc = ::ioctl(fd, BLKGETSIZE, &v);
      value = std::to_string(v);
    } else {
      int v = 0;
      rc = ::ioctl(fd, op == "ssz" ? BLKSSZGET : op == "pbsz" ? BLKPBSZGET : BLKROGET, &v);
      value = std::to_string(v);
    }
  } else if (op == "roset") {
    std::uint64_t v;
    if (nargs != 1 || !ParseU64(args[0], &v) || v > 1) return Usage();
    int flag = static_cast<int>(v);
    rc = ::ioctl(fd, BLKROSET, &flag);
  } else if (op == "flsbuf" || op == "rrpart") {
    if (nargs != 0) return Usage();
    rc = ::ioctl(fd, op == "flsbuf" ? BLKFLSBUF : BLKRRPART, 0);
  } else if (op == "bszset") {
    std::uint64_t v;
    if (nargs != 1 || !ParseU64(args[0], &v)) return Usage();
    int size = static_cast<int>(v);
    rc = ::ioctl(fd, BLKBSZSET, &size);
  } else if (op == "discard" || op == "zeroout" || op == "secdiscard") {
    std::uint64_t range[2];
    if (nargs != 2 || !ParseU64(args[0], &range[0]) || !ParseU64(args[1], &range[1]))
      return Usage();
    rc = ::ioctl(fd,
                 op == "discard"   ? BLKDISCARD
                 : op == "zeroout" ? BLKZEROOUT
                                   : BLKSECDISCARD,
                 range);
  } else if (op == "fsync" || op == "fdatasync") {
    if (nargs != 0) return Usage();
    rc = op == "fsync" ? ::fsync(fd) : ::fdatasync(fd);
  } else if (op == "write-fsync") {
    std::uint64_t off;
    if (nargs != 1 || !ParseU64(args[0], &off)) return Usage();
    char buf[4096];
    std::memset(buf, 0xa5, sizeof buf);
    ssize_t n = ::pwrite(fd, buf, sizeof buf, static_cast<off_t>(off));
    if (n != static_cast<ssize_t>(sizeof buf)) return Failed("write", n < 0 ? errno : EIO);
    rc = ::fsync(fd);
  } else {
    return Usage();
  }
  if (rc != 0) return Failed(nullptr, errno);
  std::puts(value.empty() ? "ok" : ("ok " + value).c_str());
  return 0;
}
