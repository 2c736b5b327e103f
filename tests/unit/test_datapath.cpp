// Unit tests of the data path that run without ublk: the user_data encoder, request
// splitting, and the request handler driven by the in-process source over the null, mem and
// file backends (and a scripted fake backend for retries and fallbacks).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "backend.h"
#include "blkgate/gate.h"
#include "blkgate/unique_fd.h"
#include "io_handler.h"
#include "io_layout.h"
#include "io_source_mem.h"
#include "io_userdata.h"
#include "ublk_abi.h"

using namespace blkgate;
using namespace blkgate::io;

namespace {

constexpr std::uint8_t R = ublk::kOpRead, W = ublk::kOpWrite, F = ublk::kOpFlush,
                       D = ublk::kOpDiscard, WZ = ublk::kOpWriteZeroes;

Segment Seg(std::string drive, int index, std::uint64_t vol, std::uint64_t drv, std::uint64_t len) {
  Segment s;
  s.drive = std::move(drive);
  s.index = index;
  s.volume_offset = vol;
  s.drive_offset = drv;
  s.length = len;
  return s;
}

VolumeLayout MakeLayout(std::uint64_t size, const std::vector<Segment>& segs) {
  VolumeLayout l;
  Result r = VolumeLayout::Build(size, segs, &l);
  INFO(r.ToString());
  REQUIRE(r.ok());
  return l;
}

std::vector<char> Pattern(std::size_t n, unsigned seed) {
  std::vector<char> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = static_cast<char>((i * 131 + seed * 7 + (i >> 9)) & 0xff);
  return v;
}

bool AllZero(const std::vector<char>& v) {
  for (char c : v)
    if (c) return false;
  return true;
}

struct Rig {
  VolumeLayout layout;
  std::unique_ptr<Backend> backend;
  gate::GateWord gate;
  std::function<void(int, int)> on_error;
  std::vector<std::pair<int, int>> errors;
  std::unique_ptr<MemRequestSource> src;

  void Start(std::uint32_t park_timeout_ms = 30000, std::uint16_t depth = 16) {
    on_error = [this](int seg, int err) { errors.emplace_back(seg, err); };
    MemSourceConfig c;
    c.layout = &layout;
    c.backend = backend.get();
    c.gate = &gate;
    c.depth = depth;
    c.max_io_bytes = 512 * 1024;
    c.park_timeout_ms = park_timeout_ms;
    c.park_recheck_ms = 2;
    c.on_backend_error = &on_error;
    Result r = MemRequestSource::Create(c, &src);
    INFO(r.ToString());
    REQUIRE(r.ok());
  }
  int Exec(std::uint8_t op, std::uint64_t sector, std::uint32_t sectors, void* data = nullptr,
           std::uint32_t flags = 0) {
    return src->Execute(op, sector, sectors, data, flags);
  }
};

// A temporary file of `size` bytes filled with `fill`, removed on destruction.
struct TempFile {
  std::string path;
  explicit TempFile(std::uint64_t size, char fill = 0) {
    char tmpl[] = "/tmp/blkgate-dp-XXXXXX";
    const UniqueFd fd(mkstemp(tmpl));
    REQUIRE(fd.valid());
    path = tmpl;
    std::vector<char> buf(64 * 1024, fill);
    for (std::uint64_t off = 0; off < size; off += buf.size())
      REQUIRE(pwrite(fd.get(), buf.data(), std::min<std::uint64_t>(buf.size(), size - off), off) >
              0);
  }
  ~TempFile() { unlink(path.c_str()); }
  std::vector<char> Read(std::uint64_t off, std::size_t len) const {
    std::vector<char> v(len);
    const UniqueFd fd(open(path.c_str(), O_RDONLY));
    REQUIRE(fd.valid());
    REQUIRE(pread(fd.get(), v.data(), len, off) == static_cast<ssize_t>(len));
    return v;
  }
};

}  // namespace

TEST_CASE("user_data encoder round-trips every field", "[datapath]") {
  for (UdKind k : {UdKind::ublk_cmd, UdKind::backend, UdKind::timeout, UdKind::wake}) {
    for (std::uint16_t tag : {0, 1, 127, 4095, 65535}) {
      for (std::uint8_t sub : {0, 1, 15, 255}) {
        const std::uint64_t ud = encode_ud(k, tag, sub);
        const UserData d = decode_ud(ud);
        REQUIRE(d.kind == k);
        REQUIRE(d.tag == tag);
        REQUIRE(d.sub == sub);
        REQUIRE(ud != 0);
      }
    }
  }
  REQUIRE(ud_kind(0) == UdKind::invalid);
}

TEST_CASE("VolumeLayout::Build validates the extent", "[datapath]") {
  VolumeLayout l;
  REQUIRE(VolumeLayout::Build(4096, {Seg("a", 0, 0, 0, 4096)}, &l).ok());
  REQUIRE(l.count == 1);
  REQUIRE(VolumeLayout::Build(0, {}, &l).code() == Code::invalid_argument);
  REQUIRE(VolumeLayout::Build(4096, {}, &l).code() == Code::invalid_argument);
  REQUIRE(VolumeLayout::Build(4096, {Seg("a", 0, 0, 0, 2048)}, &l).code() ==
          Code::invalid_argument);
  REQUIRE(
      VolumeLayout::Build(4096, {Seg("a", 0, 0, 0, 2048), Seg("b", 1, 2560, 0, 1536)}, &l).code() ==
      Code::invalid_argument);  // a gap
  REQUIRE(VolumeLayout::Build(1000, {Seg("a", 0, 0, 0, 1000)}, &l).code() ==
          Code::invalid_argument);
  REQUIRE(VolumeLayout::Build(4096, {Seg("a", 16, 0, 0, 4096)}, &l).code() ==
          Code::invalid_argument);
}

TEST_CASE("SplitRange splits a request at segment boundaries", "[datapath]") {
  // Drives: a [vol 0, 8K) at drive 1M; b [8K, 9K) at 0; c [9K, 64K) at 512.
  VolumeLayout l = MakeLayout(64 * 1024, {Seg("a", 2, 0, 1 << 20, 8192), Seg("b", 3, 8192, 0, 1024),
                                          Seg("c", 4, 9216, 512, 65536 - 9216)});
  PieceRange p[kMaxPieces];
  int first = -1, last = -1;

  SECTION("inside one segment") {
    REQUIRE(SplitRange(l, 4096, 4096, p, &first, &last) == 1);
    REQUIRE(p[0].seg == 0);
    REQUIRE(p[0].drive_offset == (1 << 20) + 4096);
    REQUIRE(p[0].buf_offset == 0);
    REQUIRE(p[0].len == 4096);
    REQUIRE(first == 2);
    REQUIRE(last == 2);
  }
  SECTION("across all three segments") {
    REQUIRE(SplitRange(l, 7680, 4096, p, &first, &last) == 3);
    REQUIRE(p[0].seg == 0);
    REQUIRE(p[0].drive_offset == (1 << 20) + 7680);
    REQUIRE(p[0].len == 512);
    REQUIRE(p[1].seg == 1);
    REQUIRE(p[1].volume_offset == 8192);
    REQUIRE(p[1].drive_offset == 0);
    REQUIRE(p[1].buf_offset == 512);
    REQUIRE(p[1].len == 1024);
    REQUIRE(p[2].seg == 2);
    REQUIRE(p[2].drive_offset == 512);
    REQUIRE(p[2].buf_offset == 1536);
    REQUIRE(p[2].len == 4096 - 1536);
    REQUIRE(first == 2);
    REQUIRE(last == 4);
  }
  SECTION("exactly one whole segment starting at its boundary") {
    REQUIRE(SplitRange(l, 8192, 1024, p, &first, &last) == 1);
    REQUIRE(p[0].seg == 1);
    REQUIRE(first == 3);
    REQUIRE(last == 3);
  }
  SECTION("up to the last byte, and past it") {
    REQUIRE(SplitRange(l, 65536 - 512, 512, p, &first, &last) == 1);
    REQUIRE(p[0].drive_offset == 512 + (65536 - 512 - 9216));
    REQUIRE(SplitRange(l, 65536 - 512, 1024, p, &first, &last) == 0);
    REQUIRE(SplitRange(l, 65536, 512, p, &first, &last) == 0);
    REQUIRE(SplitRange(l, 0, 0, p, &first, &last) == 0);
  }
  SECTION("the pieces tile the request") {
    for (std::uint64_t off = 0; off < 65536; off += 512) {
      for (std::uint32_t len : {512u, 4096u, 16384u}) {
        if (off + len > 65536) continue;
        int n = SplitRange(l, off, len, p, &first, &last);
        REQUIRE(n >= 1);
        std::uint32_t sum = 0;
        for (int i = 0; i < n; ++i) {
          REQUIRE(p[i].buf_offset == sum);
          REQUIRE(p[i].volume_offset == off + sum);
          const LayoutSegment& s = l.segs[p[i].seg];
          REQUIRE(p[i].volume_offset >= s.volume_offset);
          REQUIRE(p[i].volume_offset + p[i].len <= s.volume_offset + s.length);
          REQUIRE(p[i].drive_offset == s.drive_offset + (p[i].volume_offset - s.volume_offset));
          sum += p[i].len;
        }
        REQUIRE(sum == len);
      }
    }
  }
}

TEST_CASE("handler + mem backend: write, read back, flush, discard, write-zeroes", "[datapath]") {
  Rig rig;
  rig.layout =
      MakeLayout(1 << 20, {Seg("a", 0, 0, 0, 300 * 1024), Seg("b", 1, 300 * 1024, 0, 724 * 1024)});
  REQUIRE(MakeMemBackend(1 << 20, &rig.backend).ok());
  rig.Start();

  auto data = Pattern(128 * 1024, 1);
  // 128 KiB at 256 KiB: spans both segments.
  REQUIRE(rig.Exec(W, 512, 256, data.data()) == 128 * 1024);
  std::vector<char> back(data.size());
  REQUIRE(rig.Exec(R, 512, 256, back.data()) == 128 * 1024);
  REQUIRE(back == data);

  REQUIRE(rig.Exec(F, 0, 0) == 0);
  REQUIRE(rig.src->stats().flushes.load() == 1);

  REQUIRE(rig.Exec(D, 512, 64) == 0);  // first 32 KiB of the write
  REQUIRE(rig.Exec(WZ, 512 + 64, 64, nullptr, ublk::kIoFlagNoUnmap) == 0);
  REQUIRE(rig.Exec(R, 512, 256, back.data()) == 128 * 1024);
  REQUIRE(AllZero(std::vector<char>(back.begin(), back.begin() + 64 * 1024)));
  REQUIRE(std::equal(back.begin() + 64 * 1024, back.end(), data.begin() + 64 * 1024));

  const QueueStats& s = rig.src->stats();
  REQUIRE(s.writes.load() == 1);
  REQUIRE(s.reads.load() == 2);
  REQUIRE(s.discards.load() == 1);
  REQUIRE(s.write_zeroes.load() == 1);
  REQUIRE(s.refused.load() == 0);
  REQUIRE(rig.errors.empty());
}

TEST_CASE("handler + null backend: reads are zeros, writes are dropped", "[datapath]") {
  Rig rig;
  rig.layout = MakeLayout(1 << 20, {Seg("a", 0, 0, 0, 1 << 20)});
  rig.backend = MakeNullBackend();
  rig.Start();
  auto data = Pattern(4096, 2);
  REQUIRE(rig.Exec(W, 8, 8, data.data()) == 4096);
  std::vector<char> back(4096, 'x');
  REQUIRE(rig.Exec(R, 8, 8, back.data()) == 4096);
  REQUIRE(AllZero(back));
  REQUIRE(rig.Exec(F, 0, 0) == 0);
  REQUIRE(rig.Exec(D, 0, 2048) == 0);
  REQUIRE(rig.Exec(99, 0, 8) == -EOPNOTSUPP);

  LoadSpec ls;
  ls.op = R;
  ls.qd = 8;
  ls.requests = 2000;
  LoadResult lr = rig.src->RunLoad(ls);
  REQUIRE(lr.completed == 2000);
  REQUIRE(lr.errors == 0);
  REQUIRE(lr.bytes == 2000ull * 4096);
}

TEST_CASE("handler + file backend over two drives writes the right bytes", "[datapath]") {
  // Drive 1: 256 KiB, the volume uses [64K, 256K). Drive 2: 256 KiB, the volume uses [0, 128K).
  TempFile f1(256 * 1024, 'A'), f2(256 * 1024, 'B');
  Rig rig;
  rig.layout = MakeLayout(320 * 1024, {Seg("d1", 0, 0, 64 * 1024, 192 * 1024),
                                       Seg("d2", 1, 192 * 1024, 0, 128 * 1024)});
  Result r = OpenFileBackend(rig.layout, {f1.path, f2.path}, FileBackendOptions{}, &rig.backend);
  INFO(r.ToString());
  REQUIRE(r.ok());
  rig.Start();

  // 64 KiB straddling the drive boundary: volume [160K, 224K).
  auto data = Pattern(64 * 1024, 3);
  REQUIRE(rig.Exec(W, 160 * 2, 128, data.data()) == 64 * 1024);
  std::vector<char> back(data.size());
  REQUIRE(rig.Exec(R, 160 * 2, 128, back.data()) == 64 * 1024);
  REQUIRE(back == data);
  REQUIRE(rig.Exec(F, 0, 0) == 0);

  // Bytes in the files: d1 [224K, 256K) = first 32K, d2 [0, 32K) = last 32K; the rest untouched.
  REQUIRE(f1.Read(224 * 1024, 32 * 1024) ==
          std::vector<char>(data.begin(), data.begin() + 32 * 1024));
  REQUIRE(f2.Read(0, 32 * 1024) == std::vector<char>(data.begin() + 32 * 1024, data.end()));
  REQUIRE(f1.Read(0, 224 * 1024) == std::vector<char>(224 * 1024, 'A'));
  REQUIRE(f2.Read(32 * 1024, 224 * 1024) == std::vector<char>(224 * 1024, 'B'));

  // Discard and write-zeroes (with and without NOUNMAP) read back as zeros through the handler
  // and in the files.
  REQUIRE(rig.Exec(D, 160 * 2, 32) == 0);                                  // vol [160K,176K)
  REQUIRE(rig.Exec(WZ, 176 * 2, 32) == 0);                                 // vol [176K,192K)
  REQUIRE(rig.Exec(WZ, 192 * 2, 64, nullptr, ublk::kIoFlagNoUnmap) == 0);  // vol [192K,224K)
  REQUIRE(rig.Exec(R, 160 * 2, 128, back.data()) == 64 * 1024);
  REQUIRE(AllZero(back));
  REQUIRE(AllZero(f1.Read(224 * 1024, 32 * 1024)));
  REQUIRE(AllZero(f2.Read(0, 32 * 1024)));
  REQUIRE(f1.Read(0, 224 * 1024) == std::vector<char>(224 * 1024, 'A'));
  REQUIRE(f2.Read(32 * 1024, 224 * 1024) == std::vector<char>(224 * 1024, 'B'));
  REQUIRE(rig.errors.empty());
  REQUIRE(rig.src->stats().backend_errors.load() == 0);
}

TEST_CASE("file backend: write-zeroes over a whole 64K of the second drive", "[datapath]") {
  TempFile f1(64 * 1024, 'A'), f2(128 * 1024, 'B');
  Rig rig;
  rig.layout = MakeLayout(192 * 1024,
                          {Seg("d1", 0, 0, 0, 64 * 1024), Seg("d2", 1, 64 * 1024, 0, 128 * 1024)});
  REQUIRE(OpenFileBackend(rig.layout, {f1.path, f2.path}, FileBackendOptions{}, &rig.backend).ok());
  rig.Start();
  REQUIRE(rig.Exec(WZ, 128, 128) == 0);          // vol [64K, 128K) = d2 [0, 64K)
  REQUIRE(rig.Exec(D, 256, 128, nullptr) == 0);  // vol [128K, 192K) = d2 [64K, 128K)
  REQUIRE(AllZero(f2.Read(0, 128 * 1024)));
  REQUIRE(f1.Read(0, 64 * 1024) == std::vector<char>(64 * 1024, 'A'));
}

TEST_CASE("gate refusal completes at once and never reaches the backing store", "[datapath]") {
  Rig rig;
  rig.layout =
      MakeLayout(1 << 20, {Seg("a", 0, 0, 0, 512 * 1024), Seg("b", 1, 512 * 1024, 0, 512 * 1024)});
  REQUIRE(MakeMemBackend(1 << 20, &rig.backend).ok());
  rig.Start();
  auto data = Pattern(4096, 4);
  REQUIRE(rig.Exec(W, 0, 8, data.data()) == 4096);

  SECTION("offline: every op -ENODEV") {
    gate::publish(rig.gate, gate::kOffline);
    auto other = Pattern(4096, 5);
    REQUIRE(rig.Exec(W, 0, 8, other.data()) == -ENODEV);
    std::vector<char> back(4096);
    REQUIRE(rig.Exec(R, 0, 8, back.data()) == -ENODEV);
    REQUIRE(rig.Exec(F, 0, 0) == -ENODEV);
    REQUIRE(rig.Exec(D, 0, 8) == -ENODEV);
    REQUIRE(rig.src->stats().refused.load() == 4);
    gate::publish(rig.gate, 0);
    REQUIRE(rig.Exec(R, 0, 8, back.data()) == 4096);
    REQUIRE(back == data);  // the refused write and discard changed nothing
    REQUIRE(rig.src->stats().writes.load() == 1);
  }
  SECTION("read-only: writes -EROFS, reads and flushes pass") {
    gate::publish(rig.gate, gate::kReadOnly);
    REQUIRE(rig.Exec(W, 0, 8, data.data()) == -EROFS);
    REQUIRE(rig.Exec(WZ, 0, 8) == -EROFS);
    std::vector<char> back(4096);
    REQUIRE(rig.Exec(R, 0, 8, back.data()) == 4096);
    REQUIRE(rig.Exec(F, 0, 0) == 0);
  }
  SECTION("a failed drive fails only the requests touching it") {
    gate::publish(rig.gate, gate::segment_bits(1, gate::DriveBits::failed));
    std::vector<char> back(4096);
    REQUIRE(rig.Exec(R, 0, 8, back.data()) == 4096);
    REQUIRE(rig.Exec(R, 1024, 8, back.data()) == -EIO);      // in b
    REQUIRE(rig.Exec(R, 1024 - 4, 8, back.data()) == -EIO);  // spans a and b
    REQUIRE(rig.Exec(F, 0, 0) == -EIO);                      // flush touches all
  }
}

TEST_CASE("parked requests: admitted when the word clears, -ENODEV at the deadline", "[datapath]") {
  Rig rig;
  rig.layout =
      MakeLayout(1 << 20, {Seg("a", 0, 0, 0, 512 * 1024), Seg("b", 1, 512 * 1024, 0, 512 * 1024)});
  REQUIRE(MakeMemBackend(1 << 20, &rig.backend).ok());

  SECTION("admitted") {
    rig.Start(/*park_timeout_ms=*/10000);
    gate::publish(rig.gate, gate::segment_bits(1, gate::DriveBits::not_ready));
    std::vector<char> back(4096);
    REQUIRE(rig.Exec(R, 0, 8, back.data()) == 4096);  // segment a is fine
    auto data = Pattern(4096, 6);
    int tag = rig.src->Submit(W, 1024, 8, data.data());
    REQUIRE(tag >= 0);
    int tag2 = rig.src->Submit(F, 0, 0);
    REQUIRE(tag2 >= 0);
    for (int i = 0; i < 5; ++i) rig.src->Poll(5);
    REQUIRE_FALSE(rig.src->Done(tag));
    REQUIRE_FALSE(rig.src->Done(tag2));
    REQUIRE(rig.src->stats().parked.load() == 2);
    REQUIRE(rig.src->stats().writes.load() == 0);
    // The source is idle (outside its window): a grace period completes.
    std::vector<gate::QueueSync*> syncs{rig.src->sync()};
    gate::publish(rig.gate, 0);
    gate::synchronize(syncs);
    for (int i = 0; i < 100 && !(rig.src->Done(tag) && rig.src->Done(tag2)); ++i) rig.src->Poll(10);
    REQUIRE(rig.src->Done(tag));
    REQUIRE(rig.src->ResultOf(tag) == 4096);
    REQUIRE(rig.src->Done(tag2));
    REQUIRE(rig.src->ResultOf(tag2) == 0);
    REQUIRE(rig.src->stats().parked.load() == 0);
    REQUIRE(rig.Exec(R, 1024, 8, back.data()) == 4096);
    REQUIRE(back == data);
  }
  SECTION("fails with the new verdict when the drive goes offline") {
    rig.Start(10000);
    gate::publish(rig.gate, gate::segment_bits(0, gate::DriveBits::not_ready));
    int tag = rig.src->Submit(R, 0, 8);
    rig.src->Poll(5);
    REQUIRE_FALSE(rig.src->Done(tag));
    gate::publish(rig.gate, gate::segment_bits(0, gate::DriveBits::offline));
    for (int i = 0; i < 100 && !rig.src->Done(tag); ++i) rig.src->Poll(10);
    REQUIRE(rig.src->ResultOf(tag) == -ENODEV);
  }
  SECTION("times out") {
    rig.Start(/*park_timeout_ms=*/60);
    gate::publish(rig.gate, gate::segment_bits(0, gate::DriveBits::not_ready));
    std::vector<char> before(4096), after(4096);
    const auto t0 = MonotonicNs();
    auto data = Pattern(4096, 7);
    REQUIRE(rig.Exec(W, 0, 8, data.data()) == -ENODEV);
    const auto waited_ms = (MonotonicNs() - t0) / 1000000;
    REQUIRE(waited_ms >= 55);
    REQUIRE(waited_ms < 2000);
    REQUIRE(rig.src->stats().writes.load() == 0);
    REQUIRE(rig.src->stats().refused.load() == 1);
    gate::publish(rig.gate, 0);
    REQUIRE(rig.Exec(R, 0, 8, after.data()) == 4096);
    REQUIRE(AllZero(after));  // nothing reached the store
  }
}

namespace {
// A scripted backend: short transfers, EOPNOTSUPP, errors, all synchronous.
struct FakeBackend final : Backend {
  std::vector<PieceIo> calls;
  std::function<int(const PieceIo&)> answer;
  BackendKind kind() const noexcept override { return BackendKind::mem; }
  std::uint32_t zero_fill_max() const noexcept override { return 8192; }
  int Start(const PieceIo& p, io_uring*, std::uint64_t) noexcept override {
    calls.push_back(p);
    return answer(p);
  }
};
}  // namespace

TEST_CASE("handler retries short transfers and falls back for unsupported ops", "[datapath]") {
  Rig rig;
  rig.layout = MakeLayout(1 << 20, {Seg("a", 3, 0, 4096, 1 << 20)});
  auto fake = std::make_unique<FakeBackend>();
  FakeBackend* fb = fake.get();
  rig.backend = std::move(fake);
  rig.Start();

  SECTION("short reads continue where they stopped") {
    fb->answer = [](const PieceIo& p) {
      return static_cast<int>(std::min<std::uint32_t>(p.len, 1536));
    };
    REQUIRE(rig.Exec(R, 8, 8) == 4096);
    REQUIRE(fb->calls.size() == 3);
    REQUIRE(fb->calls[1].drive_offset == 4096 + 4096 + 1536);
    REQUIRE(fb->calls[1].len == 4096 - 1536);
    REQUIRE(fb->calls[2].len == 4096 - 3072);
    REQUIRE(static_cast<char*>(fb->calls[2].buf) - static_cast<char*>(fb->calls[0].buf) == 3072);
  }
  SECTION("a zero-byte transfer is an error, blamed on the drive") {
    fb->answer = [](const PieceIo&) { return 0; };
    REQUIRE(rig.Exec(W, 0, 8) == -EIO);
    REQUIRE(rig.errors.size() == 1);
    REQUIRE(rig.errors[0] == std::pair<int, int>(3, EIO));
  }
  SECTION("backend errors call on_backend_error and complete with -EIO") {
    fb->answer = [](const PieceIo&) { return -EROFS; };
    REQUIRE(rig.Exec(W, 0, 8) == -EIO);
    REQUIRE(rig.errors == std::vector<std::pair<int, int>>{{3, EROFS}});
    REQUIRE(rig.src->stats().backend_errors.load() == 1);
  }
  SECTION("a full file system fails the request with ENOSPC, never the drive") {
    for (int err : {ENOSPC, EDQUOT}) {
      fb->answer = [err](const PieceIo&) { return -err; };
      REQUIRE(rig.Exec(W, 0, 8) == -ENOSPC);
    }
    REQUIRE(rig.errors.empty());
    REQUIRE(rig.src->stats().backend_errors.load() == 2);
    // Space again: the very next write works.
    fb->answer = [](const PieceIo& p) { return static_cast<int>(p.len); };
    REQUIRE(rig.Exec(W, 0, 8) == 4096);
  }
  SECTION("a short write then ENOSPC: the request fails with ENOSPC") {
    int n = 0;
    fb->answer = [&n](const PieceIo&) { return n++ == 0 ? 1024 : -ENOSPC; };
    REQUIRE(rig.Exec(W, 0, 8) == -ENOSPC);
    REQUIRE(rig.errors.empty());
  }
  SECTION("the host short of memory fails the request with EIO, not the drive") {
    for (int err : {ENOMEM, ENOBUFS, EINTR, EAGAIN}) {
      fb->answer = [err](const PieceIo&) { return -err; };
      REQUIRE(rig.Exec(R, 0, 8) == -EIO);
    }
    REQUIRE(rig.errors.empty());
  }
  SECTION("write-zeroes the store can't do becomes zero-fill writes") {
    fb->answer = [](const PieceIo& p) {
      if (p.op == PieceOp::write_zeroes) return -EOPNOTSUPP;
      return static_cast<int>(std::min<std::uint32_t>(p.len, 8192));
    };
    REQUIRE(rig.Exec(WZ, 0, 40) == 0);  // 20 KiB -> 8K + 8K + 4K
    REQUIRE(fb->calls.size() == 4);
    REQUIRE(fb->calls[1].op == PieceOp::zero_fill);
    REQUIRE(fb->calls[3].drive_offset == 4096 + 16384);
    REQUIRE(fb->calls[3].len == 4096);
    REQUIRE(rig.errors.empty());
  }
  SECTION("discard the store can't do is done (advisory)") {
    fb->answer = [](const PieceIo&) { return -EOPNOTSUPP; };
    REQUIRE(rig.Exec(D, 0, 8) == 0);
    REQUIRE(rig.errors.empty());
  }
}

// FUA: every piece of a flagged write carries the flag (each drive's part made durable), a
// plain write's pieces do not, and nothing else turns into a flush.
TEST_CASE("handler: a FUA write's pieces on every drive are FUA, a plain write's are not",
          "[datapath]") {
  Rig rig;
  rig.layout =
      MakeLayout(1 << 20, {Seg("a", 0, 0, 0, 256 * 1024), Seg("b", 1, 256 * 1024, 0, 768 * 1024)});
  auto fake = std::make_unique<FakeBackend>();
  FakeBackend* fb = fake.get();
  fb->answer = [](const PieceIo& p) { return static_cast<int>(p.len); };
  rig.backend = std::move(fake);
  rig.Start();
  std::vector<char> data(32 * 1024, 'x');
  // volume [240K, 272K): a [240K, 256K) + b [0, 16K)
  REQUIRE(rig.Exec(W, (256 - 16) * 2, 64, data.data(), ublk::kIoFlagFua) == 32 * 1024);
  REQUIRE(fb->calls.size() == 2);
  for (const PieceIo& p : fb->calls) {
    CHECK(p.op == PieceOp::write);
    CHECK(p.fua);
  }
  CHECK(fb->calls[1].seg == 1);
  fb->calls.clear();
  REQUIRE(rig.Exec(W, (256 - 16) * 2, 64, data.data()) == 32 * 1024);
  REQUIRE(fb->calls.size() == 2);
  for (const PieceIo& p : fb->calls) CHECK_FALSE(p.fua);
  CHECK(rig.src->stats().flushes.load() == 0);
}

TEST_CASE("file backend: a FUA write (RWF_DSYNC) lands like any other", "[datapath]") {
  TempFile f(128 * 1024, 'A');
  Rig rig;
  rig.layout = MakeLayout(128 * 1024, {Seg("d", 0, 0, 0, 128 * 1024)});
  Result r = OpenFileBackend(rig.layout, {f.path}, FileBackendOptions{}, &rig.backend);
  INFO(r.ToString());
  REQUIRE(r.ok());
  rig.Start();
  auto data = Pattern(16 * 1024, 7);
  REQUIRE(rig.Exec(W, 64, 32, data.data(), ublk::kIoFlagFua) == 16 * 1024);
  REQUIRE(f.Read(32 * 1024, 16 * 1024) == data);
  REQUIRE(f.Read(0, 32 * 1024) == std::vector<char>(32 * 1024, 'A'));
}

// Zero copy: a request whose pages are a fixed buffer of the ring reaches the backend as
// (buf_index, offset in that buffer), across a drive boundary and through short transfers.
TEST_CASE("handler: fixed-buffer requests keep their index and offsets", "[datapath]") {
  const VolumeLayout layout =
      MakeLayout(1 << 20, {Seg("a", 0, 0, 0, 256 * 1024), Seg("b", 1, 256 * 1024, 0, 768 * 1024)});
  FakeBackend fb;
  fb.answer = [](const PieceIo& p) {
    return static_cast<int>(std::min<std::uint32_t>(p.len, 12 * 1024));
  };
  gate::GateWord word;
  gate::QueueSync sync;
  QueueStats stats;
  struct Sink final : IoCompletionSink {
    std::vector<std::pair<std::uint16_t, int>> done;
    void Complete(std::uint16_t tag, int result) noexcept override {
      done.emplace_back(tag, result);
    }
  } sink;
  HandlerConfig c;
  c.layout = &layout;
  c.backend = &fb;
  c.gate = &word;
  c.sync = &sync;
  c.stats = &stats;
  c.depth = 8;
  IoHandler h(c, nullptr, &sink);  // the fake completes synchronously: no ring needed

  IoRequest r;
  r.tag = 5;
  r.op = R;
  r.start_sector = (256 - 16) * 2;  // volume [240K, 272K): a [240K, 256K) + b [0, 16K)
  r.nr_sectors = 64;
  r.buf_index = 5;
  h.Submit(r);
  REQUIRE(sink.done == std::vector<std::pair<std::uint16_t, int>>{{5, 32 * 1024}});
  // a: 12K + 4K; b: 12K + 4K; every call on buffer 5 at the piece's offset in the request.
  REQUIRE(fb.calls.size() == 4);
  const std::uint32_t want_off[] = {0, 12 * 1024, 16 * 1024, 28 * 1024};
  const std::uint32_t want_len[] = {16 * 1024, 4 * 1024, 16 * 1024, 4 * 1024};
  for (std::size_t i = 0; i < 4; ++i) {
    INFO("call " << i);
    CHECK(fb.calls[i].buf_index == 5);
    CHECK(fb.calls[i].buf == nullptr);
    CHECK(fb.calls[i].buf_offset == want_off[i]);
    CHECK(fb.calls[i].len == want_len[i]);
  }
  CHECK(fb.calls[2].seg == 1);
  CHECK(fb.calls[2].drive_offset == 0);
}

TEST_CASE("file backend opened read-only: write failures reach on_backend_error", "[datapath]") {
  TempFile f(64 * 1024);
  Rig rig;
  rig.layout = MakeLayout(64 * 1024, {Seg("d", 5, 0, 0, 64 * 1024)});
  FileBackendOptions opt;
  opt.read_only = true;
  REQUIRE(OpenFileBackend(rig.layout, {f.path}, opt, &rig.backend).ok());
  rig.Start();
  std::vector<char> buf(4096);
  REQUIRE(rig.Exec(R, 0, 8, buf.data()) == 4096);
  REQUIRE(rig.Exec(W, 0, 8, buf.data()) == -EIO);
  REQUIRE(rig.errors.size() == 1);
  REQUIRE(rig.errors[0].first == 5);
  REQUIRE(rig.errors[0].second == EBADF);
}

TEST_CASE("file backend rejects a store too small for its segment", "[datapath]") {
  TempFile f(64 * 1024);
  VolumeLayout l = MakeLayout(64 * 1024, {Seg("d", 0, 0, 4096, 64 * 1024)});
  std::unique_ptr<Backend> b;
  Result r = OpenFileBackend(l, {f.path}, FileBackendOptions{}, &b);
  REQUIRE(r.code() == Code::invalid_argument);
  REQUIRE(OpenFileBackend(l, {"/nonexistent/blkgate"}, FileBackendOptions{}, &b).code() ==
          Code::not_found);
}

TEST_CASE("mem and file backends under a closed-loop load", "[datapath]") {
  TempFile f(4 << 20);
  Rig rig;
  rig.layout = MakeLayout(4 << 20, {Seg("d", 0, 0, 0, 4 << 20)});
  REQUIRE(OpenFileBackend(rig.layout, {f.path}, FileBackendOptions{}, &rig.backend).ok());
  rig.Start(30000, 32);
  LoadSpec ls;
  ls.read_percent = 50;
  ls.qd = 32;
  ls.requests = 3000;
  LoadResult lr = rig.src->RunLoad(ls);
  REQUIRE(lr.completed == 3000);
  REQUIRE(lr.errors == 0);
  REQUIRE(rig.src->handler().busy() == 0);
  REQUIRE(rig.src->handler().backend_inflight() == 0);
  REQUIRE(rig.src->sync()->inflight.load() == 0);
}

TEST_CASE("stats: admitted reads and writes count their bytes and latency; refused ones do not",
          "[datapath]") {
  Rig rig;
  rig.layout = MakeLayout(1 << 20, {Seg("a", 0, 0, 0, 1 << 20)});
  REQUIRE(MakeMemBackend(1 << 20, &rig.backend).ok());
  rig.Start();
  std::vector<char> buf(8192, 'x');
  REQUIRE(rig.Exec(W, 0, 16, buf.data()) == 8192);
  REQUIRE(rig.Exec(W, 16, 8, buf.data()) == 4096);
  REQUIRE(rig.Exec(R, 0, 16, buf.data()) == 8192);
  REQUIRE(rig.Exec(F, 0, 0) == 0);
  rig.gate.word.store(gate::kOffline);
  REQUIRE(rig.Exec(R, 0, 8, buf.data()) == -ENODEV);
  const QueueIoSample s = rig.src->stats().Snapshot();
  CHECK(s.writes == 2);
  CHECK(s.write_bytes == 12288);
  CHECK(s.reads == 1);
  CHECK(s.read_bytes == 8192);
  CHECK(s.flushes == 1);
  CHECK(s.refused == 1);
  auto count = [](const LatencySample& l) {
    std::uint64_t n = 0;
    for (std::uint64_t c : l.buckets) n += c;
    return n;
  };
  CHECK(count(s.write_latency) == 2);
  CHECK(count(s.read_latency) == 1);  // the refused read is not timed
  CHECK(s.write_latency.sum_ns > 0);
  // Each latency is below a second (a mem backend on this machine), and at least 1 ns.
  CHECK(latency::Quantile(s.write_latency.buckets, 1.0) < 1000000000ull);
  CHECK(latency::Quantile(s.read_latency.buckets, 0.5) >= 1);
}

TEST_CASE("stats: a reader samples while the queue thread records (TSan: [lockfree])",
          "[lockfree]") {
  auto stats = std::make_unique<QueueStats>();
  constexpr std::uint64_t kRequests = 200000;
  std::thread queue([&] {  // the single writer, as a queue thread
    for (std::uint64_t i = 0; i < kRequests; ++i) {
      QueueStats::bump(stats->reads);
      QueueStats::bump(stats->read_bytes, 4096);
      QueueStats::record(stats->read_latency, 1000 + i % 50000);
    }
  });
  std::uint64_t prev = 0;
  for (int i = 0; i < 200; ++i) {  // the control plane, sampling meanwhile
    const QueueIoSample s = stats->Snapshot();
    REQUIRE(s.reads >= prev);  // a single writer's counter never goes back
    prev = s.reads;
  }
  queue.join();
  const QueueIoSample s = stats->Snapshot();
  CHECK(s.reads == kRequests);
  CHECK(s.read_bytes == kRequests * 4096);
  std::uint64_t n = 0;
  for (std::uint64_t c : s.read_latency.buckets) n += c;
  CHECK(n == kRequests);
}
