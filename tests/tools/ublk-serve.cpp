// tests/tools/ublk-serve — serve one VolumeDevice without the daemon (data-path tests).
//
//   ublk-serve --backend file|null|mem [--file PATH[,PATH2...]] --size BYTES [--offset BYTES]
//              [--queues N] [--depth N] [--dev-id N] [--park-timeout-ms N] [--gate-file PATH]
//
// The files are drives concatenated into one disk; the volume is [offset, offset + size) of
// it. Prints "DEVICE /dev/ublkbN" when the device is ready. Signals:
//   SIGUSR1          print the device's stats as one JSON line
//   SIGHUP           read a gate word (hex or decimal) from --gate-file, publish it and wait
//                    for a grace period; prints "GATE 0x..."
//   SIGTERM/SIGINT   stop the device cleanly, print "STOPPED", exit 0 (1 if Stop failed)
// Exit 2: usage; 1: the device could not be created.
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "blkgate/gate.h"
#include "blkgate/size.h"
#include "blkgate/unique_fd.h"
#include "volume_device.h"

using namespace blkgate;

namespace {

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr,
               "ublk-serve: %s\nusage: ublk-serve --backend file|null|mem [--file PATH[,PATH...]] "
               "--size BYTES [--offset BYTES] [--queues N] [--depth N] [--dev-id N] "
               "[--park-timeout-ms N] [--gate-file PATH]\n",
               why);
  std::exit(2);
}

std::uint64_t Size(const std::string& s) {
  std::uint64_t v = 0;
  if (!ParseSize(s, &v).ok()) Usage(("bad size: " + s).c_str());
  return v;
}

std::uint64_t DriveSize(const std::string& path) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    std::perror(path.c_str());
    std::exit(1);
  }
  struct stat st {};
  std::uint64_t size = 0;
  if (::fstat(fd.get(), &st) == 0 && S_ISBLK(st.st_mode)) {
    if (::ioctl(fd.get(), BLKGETSIZE64, &size) != 0) size = 0;
  } else {
    size = static_cast<std::uint64_t>(st.st_size);
  }
  return size;
}

// {"reads":..,...,"parked":..,"queues":[{"reads":..,"writes":..},...]}
void PrintStats(const VolumeDevice& dev) {
  DeviceStats s = dev.stats();
  std::string line;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "{\"reads\":%" PRIu64 ",\"writes\":%" PRIu64 ",\"flushes\":%" PRIu64
                ",\"discards\":%" PRIu64 ",\"write_zeroes\":%" PRIu64 ",\"refused\":%" PRIu64
                ",\"backend_errors\":%" PRIu64 ",\"parked\":%" PRIu64 ",\"queues\":[",
                s.reads, s.writes, s.flushes, s.discards, s.write_zeroes, s.refused,
                s.backend_errors, s.parked);
  line = buf;
  for (std::size_t q = 0; q < dev.queue_syncs().size(); ++q) {
    DeviceStats qs = dev.queue_stats(q);
    std::snprintf(buf, sizeof buf, "%s{\"reads\":%" PRIu64 ",\"writes\":%" PRIu64 "}", q ? "," : "",
                  qs.reads, qs.writes);
    line += buf;
  }
  line += "]}";
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  DeviceSpec spec;
  spec.name = "ublk-serve";
  std::vector<std::string> files;
  std::uint64_t offset = 0;
  std::string gate_file;
  bool have_backend = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) Usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    if (a == "--backend") {
      if (!ParseBackend(val(), &spec.backend).ok()) Usage("bad --backend");
      have_backend = true;
    } else if (a == "--file") {
      std::string v = val();
      for (std::size_t p = 0; p <= v.size();) {
        std::size_t c = v.find(',', p);
        if (c == std::string::npos) c = v.size();
        if (c > p) files.push_back(v.substr(p, c - p));
        p = c + 1;
      }
    } else if (a == "--size") {
      spec.size = Size(val());
    } else if (a == "--offset") {
      offset = Size(val());
    } else if (a == "--queues") {
      spec.queues = static_cast<std::uint16_t>(std::stoul(val()));
    } else if (a == "--depth") {
      spec.depth = static_cast<std::uint16_t>(std::stoul(val()));
    } else if (a == "--dev-id") {
      spec.dev_id = std::stoi(val());
    } else if (a == "--park-timeout-ms") {
      spec.park_timeout_ms = static_cast<std::uint32_t>(std::stoul(val()));
    } else if (a == "--gate-file") {
      gate_file = val();
    } else {
      Usage(("unknown argument " + a).c_str());
    }
  }
  if (!have_backend || spec.size == 0) Usage("--backend and --size are required");

  if (spec.backend == BackendKind::file) {
    if (files.empty()) Usage("--file is required with --backend file");
    if (files.size() > static_cast<std::size_t>(gate::kMaxSegments)) Usage("too many files");
    // Map [offset, offset + size) of the concatenation onto the drives.
    std::uint64_t disk_pos = 0, vol_pos = 0;
    const std::uint64_t end = offset + spec.size;
    for (std::size_t i = 0; i < files.size() && vol_pos < spec.size; ++i) {
      const std::uint64_t dsize = DriveSize(files[i]) / 512 * 512;
      const std::uint64_t lo = std::max(offset, disk_pos), hi = std::min(end, disk_pos + dsize);
      if (lo < hi) {
        Segment s;
        s.drive = files[i];
        s.index = static_cast<int>(i);
        s.volume_offset = lo - offset;
        s.drive_offset = lo - disk_pos;
        s.length = hi - lo;
        spec.segments.push_back(s);
        spec.paths.push_back(files[i]);
        vol_pos += s.length;
      }
      disk_pos += dsize;
    }
    if (vol_pos != spec.size) {
      std::fprintf(stderr,
                   "ublk-serve: the files hold %" PRIu64 " bytes, the volume needs %" PRIu64 "\n",
                   disk_pos, end);
      return 2;
    }
  } else {
    Segment s;
    s.drive = "ram";
    s.length = spec.size;
    spec.segments.push_back(s);
  }

  gate::GateWord gate_word;
  spec.gate = &gate_word;
  spec.on_backend_error = [](int seg, int err) {
    char line[96];
    int n = std::snprintf(line, sizeof line, "BACKEND-ERROR segment %d errno %d\n", seg, err);
    ssize_t ignored = ::write(STDOUT_FILENO, line, static_cast<std::size_t>(n));
    (void)ignored;
  };

  // Block the signals we wait for before any thread exists: every thread inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGUSR1, SIGHUP}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  std::unique_ptr<VolumeDevice> dev;
  Result r = VolumeDevice::Create(spec, &dev);
  if (!r.ok()) {
    std::fprintf(stderr, "ublk-serve: %s\n", r.ToString().c_str());
    return 1;
  }
  std::printf("DEVICE %s\n", dev->block_path().c_str());
  std::fflush(stdout);

  for (;;) {
    int sig = sigwaitinfo(&set, nullptr);
    if (sig == SIGUSR1) {
      PrintStats(*dev);
    } else if (sig == SIGHUP) {
      std::ifstream in(gate_file);
      std::string text;
      in >> text;
      std::uint64_t w = std::strtoull(text.c_str(), nullptr, 0);
      gate::publish(gate_word, w);
      gate::synchronize(dev->queue_syncs());
      std::printf("GATE 0x%" PRIx64 "\n", w);
    } else if (sig == SIGTERM || sig == SIGINT) {
      Result s = dev->Stop();
      if (!s.ok()) {
        std::fprintf(stderr, "ublk-serve: stop: %s\n", s.ToString().c_str());
        return 1;
      }
      PrintStats(*dev);
      std::printf("STOPPED\n");
      return 0;
    }
  }
}
