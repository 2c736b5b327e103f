// tests/tools/logwrites-replay — read a dm-log-writes log: what reached the device, in the order
// it became durable, and the device as it was at a mark (tests/e2e/daemon/fua-ordering.sh).
//
//   logwrites-replay LOG summary          one line per mark in log order ("mark NAME"), then
//                                         "entries N writes W flushes F fua U discards D marks M"
//   logwrites-replay LOG replay IMAGE MARK
//                                         write every logged write and discard (as zeros) before
//                                         the first mark named MARK into IMAGE, which must exist
//                                         and be at least as large as the device
//
// dm-log-writes (drivers/md/dm-log-writes.c) logs a write only once it is durable: a FUA write
// when it completes, the others when a later FLUSH completes. So the device replayed to a mark
// holds exactly what a crash at that mark could not have lost. The log's layout (little-endian):
// block 0 the super {magic, version, nr_entries: u64; sectorsize: u32}; from block 1 on, each
// entry is one block {sector, nr_sectors, flags, data_len: u64; a mark's name after them},
// followed by nr_sectors blocks of data for a write (none for a discard, flush or mark). Sectors
// and blocks are the device's logical block size (sectorsize).
//
// Exit status: 0 done, 1 a bad log, a missing mark or an I/O error (said on stderr), 2 usage.
#include <endian.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "blkgate/unique_fd.h"

namespace {

constexpr std::uint64_t kMagic = 0x6a736677736872;  // WRITE_LOG_MAGIC
constexpr std::uint64_t kVersion = 1;
constexpr std::uint64_t kFlush = 1 << 0, kFua = 1 << 1, kDiscard = 1 << 2, kMark = 1 << 3;

int Usage() {
  std::fputs(
      "usage: logwrites-replay LOG summary\n"
      "       logwrites-replay LOG replay IMAGE MARK\n",
      stderr);
  return 2;
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "logwrites-replay: %s\n", what.c_str());
  return 1;
}

bool ReadAt(int fd, void* buf, std::size_t n, std::uint64_t off) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    const ssize_t r = ::pread(fd, p, n, static_cast<off_t>(off));
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
    off += static_cast<std::uint64_t>(r);
  }
  return true;
}

bool WriteAt(int fd, const void* buf, std::size_t n, std::uint64_t off) {
  const auto* p = static_cast<const char*>(buf);
  while (n > 0) {
    const ssize_t r = ::pwrite(fd, p, n, static_cast<off_t>(off));
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
    off += static_cast<std::uint64_t>(r);
  }
  return true;
}

std::uint64_t Le64(const unsigned char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return le64toh(v);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return Usage();
  const std::string cmd = argv[2];
  const bool replay = cmd == "replay";
  if (!(cmd == "summary" && argc == 3) && !(replay && argc == 5)) return Usage();

  blkgate::UniqueFd log(::open(argv[1], O_RDONLY | O_CLOEXEC));
  if (!log.valid()) return Fail(std::string("open ") + argv[1] + ": " + std::strerror(errno));
  unsigned char super[28];
  if (!ReadAt(log.get(), super, sizeof super, 0)) return Fail("cannot read the super block");
  std::uint32_t sectorsize;
  std::memcpy(&sectorsize, super + 24, sizeof sectorsize);
  sectorsize = le32toh(sectorsize);
  if (Le64(super) != kMagic || Le64(super + 8) != kVersion)
    return Fail("not a dm-log-writes log (magic or version)");
  if (sectorsize < 512 || sectorsize > 65536 || (sectorsize & (sectorsize - 1)))
    return Fail("bad sector size " + std::to_string(sectorsize));
  const std::uint64_t nr_entries = Le64(super + 16);

  blkgate::UniqueFd image;
  if (replay) {
    image.reset(::open(argv[3], O_RDWR | O_CLOEXEC));
    if (!image.valid()) return Fail(std::string("open ") + argv[3] + ": " + std::strerror(errno));
  }
  const std::string want = replay ? argv[4] : "";

  std::vector<unsigned char> block(sectorsize);
  std::vector<char> data;
  std::uint64_t writes = 0, flushes = 0, fua = 0, discards = 0, marks = 0;
  std::uint64_t pos = sectorsize;
  for (std::uint64_t i = 0; i < nr_entries; ++i) {
    if (!ReadAt(log.get(), block.data(), sectorsize, pos))
      return Fail("entry " + std::to_string(i) + ": cannot read the log at " + std::to_string(pos));
    const std::uint64_t offset = Le64(block.data()) * sectorsize;  // in the device
    const std::uint64_t bytes = Le64(block.data() + 8) * sectorsize;
    const std::uint64_t flags = Le64(block.data() + 16);
    const std::uint64_t data_len = Le64(block.data() + 24);
    pos += sectorsize;
    if (flags & kMark) {
      if (data_len > sectorsize - 32) return Fail("entry " + std::to_string(i) + ": bad mark");
      const std::string mark(reinterpret_cast<const char*>(block.data() + 32), data_len);
      ++marks;
      if (replay && mark == want) return ::fsync(image.get()) == 0 ? 0 : Fail("fsync image");
      if (!replay) std::printf("mark %s\n", mark.c_str());
      continue;
    }
    if (flags & kFlush) ++flushes;
    if (flags & kFua) ++fua;
    if (flags & kDiscard) {
      ++discards;
      if (replay) {
        data.assign(std::min<std::uint64_t>(bytes, 1 << 20), 0);
        for (std::uint64_t done = 0; done < bytes; done += data.size()) {
          const std::size_t n =
              static_cast<std::size_t>(std::min<std::uint64_t>(data.size(), bytes - done));
          if (!WriteAt(image.get(), data.data(), n, offset + done))
            return Fail("write image: " + std::string(std::strerror(errno)));
        }
      }
      continue;
    }
    if (bytes == 0) continue;  // a flush without data
    ++writes;
    const std::uint64_t data_at = pos;  // the write's data follows its entry in the log
    pos += bytes;
    if (!replay) continue;
    data.resize(bytes);
    if (!ReadAt(log.get(), data.data(), bytes, data_at))
      return Fail("entry " + std::to_string(i) + ": cannot read its data");
    if (!WriteAt(image.get(), data.data(), bytes, offset))
      return Fail("write image: " + std::string(std::strerror(errno)));
  }
  if (replay) return Fail("no mark named " + want + " in " + std::to_string(marks) + " marks");
  std::printf("entries %llu writes %llu flushes %llu fua %llu discards %llu marks %llu\n",
              static_cast<unsigned long long>(nr_entries), static_cast<unsigned long long>(writes),
              static_cast<unsigned long long>(flushes), static_cast<unsigned long long>(fua),
              static_cast<unsigned long long>(discards), static_cast<unsigned long long>(marks));
  return 0;
}
