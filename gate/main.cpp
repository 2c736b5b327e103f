// gate/main.cpp — the blkgate daemon's command line.
#include <signal.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "blkgate/enum_names.h"
#include "daemon.h"
#include "log.h"
#include "service_notify.h"
#include "ublk_features.h"
#include "ublk_survey.h"

namespace {

constexpr const char* kUsage =
    "usage: blkgate [--state-dir DIR] [--socket PATH] [--group NAME] [--park-timeout MS]\n"
    "               [--hook-timeout SEC] [--control-priority idle|N] [--on-crash hold|fail]\n"
    "               [--max-clients N] [--idle-timeout SEC] [--send-timeout SEC]\n"
    "               [--data-path auto|copy] [--queue-cpus spread|own|any] [--fua on|off]\n"
    "               [--names-dir DIR]\n"
    "       blkgate --version [--json] [--on-crash hold|fail] [--data-path auto|copy]\n"
    "                         [--fua on|off]\n"
    "\n"
    "Serves blkgate volumes as ublk block devices (/dev/ublkbN) until SIGTERM or SIGINT,\n"
    "then unmounts what is not in use and stops and deletes those devices; a volume still\n"
    "in use keeps its device for the next daemon (`blkgatectl shutdown --keep-devices`\n"
    "leaves every device so). Runs in the foreground and logs to stderr.\n"
    "\n"
    "Every device is recoverable: if the daemon dies (kill -9, a crash, an upgrade), the\n"
    "kernel keeps it, with its mounts and open files, and the next blkgate on the same state\n"
    "dir takes it over (same /dev/ublkbN), the gate state restored before any request is\n"
    "served.\n"
    "\n"
    "  --state-dir DIR     persistent state and default socket location\n"
    "                      (default /var/lib/blkgate)\n"
    "  --socket PATH       control socket (default DIR/control.sock, mode 0600)\n"
    "  --group NAME        also let members of group NAME use the control socket (mode 0660),\n"
    "                      with the operator role: reads, offline/online, dismount/mount\n"
    "  --park-timeout MS   how long requests to a not-ready drive wait before failing with\n"
    "                      ENODEV (default 30000)\n"
    "  --hook-timeout SEC  how long a hook in DIR/hooks may run before it is killed\n"
    "                      (a killed pre-offline hook vetoes; default 30)\n"
    "  --control-priority idle|N\n"
    "                      how control work (connections, hooks) yields the CPU to the queue\n"
    "                      threads: idle (default) runs it SCHED_IDLE, hooks 10 nice levels\n"
    "                      below; N (0-19) runs it all N nice levels below (0: no lower)\n"
    "  --on-crash hold|fail\n"
    "                      what requests to our devices do while no daemon runs: hold\n"
    "                      (default) makes them wait for the next daemon, and those in\n"
    "                      flight at the crash are re-issued to it; fail makes them fail\n"
    "                      at once with an I/O error (needs Linux 6.13+, refused at start\n"
    "                      otherwise)\n"
    "  --max-clients N     control connections at once, one of them kept for root\n"
    "                      (default 64, 1-4096)\n"
    "  --idle-timeout SEC  close a connection that sends no complete request for SEC seconds\n"
    "                      (default 60; 0: never)\n"
    "  --send-timeout SEC  drop a client that does not read its reply within SEC seconds\n"
    "                      (default 10)\n"
    "  --data-path auto|copy\n"
    "                      how new devices move request data: auto (default) uses zero copy\n"
    "                      for file volumes where the kernel has it (UBLK_F_AUTO_BUF_REG,\n"
    "                      Linux 6.16+: the backing file is read and written straight from\n"
    "                      the request's pages), copy always copies through a buffer of ours;\n"
    "                      a recovered device keeps the data path it was created with\n"
    "  --queue-cpus spread|own|any\n"
    "                      where each queue thread runs: spread (default) keeps it off the\n"
    "                      CPUs whose requests its queue serves (so it does not take turns\n"
    "                      with the program submitting them), own pins it to those CPUs\n"
    "                      (ublksrv's choice), any leaves it to the scheduler\n"
    "  --fua on|off        whether new devices take FUA writes (a file system's journal\n"
    "                      commits, O_DSYNC writes) as such: on (default) writes each one\n"
    "                      durably by itself (RWF_DSYNC), off lets the kernel follow each\n"
    "                      with a FLUSH of every drive of the volume; a recovered device\n"
    "                      keeps what it was created with\n"
    "  --names-dir DIR     where each running device's volume name is written for udev\n"
    "                      (DIR/ublkbN: BLKGATE_VOLUME=NAME), which the installed rule turns\n"
    "                      into /dev/blkgate/NAME and /dev/disk/by-id/blkgate-NAME (default\n"
    "                      /run/blkgate/devices; an empty DIR publishes nothing)\n"
    "  --version [--json]  print the version, the kernel's ublk features (GET_FEATURES, by\n"
    "                      name), the data path each backend's devices would get (copy,\n"
    "                      zero-copy, batched), whether new devices take FUA writes (with\n"
    "                      --fua) and their recovery mode (with --on-crash), then exit;\n"
    "                      --json: one JSON object\n"
    "  -h, --help          this help\n";

#ifndef BLKGATE_VERSION
#define BLKGATE_VERSION "unknown"
#endif

// blkgate --version: what this binary would do on this kernel. Exits 0 even without ublk (the
// report says why).
int PrintVersion(bool json, const blkgate::DaemonOptions& opts) {
  blkgate::UblkReport r;
  struct utsname u;
  if (::uname(&u) == 0) r.kernel = u.release;
  r.on_crash = opts.on_crash;
  r.zero_copy = opts.zero_copy;
  r.fua = opts.fua;
  blkgate::Result probe = blkgate::ProbeUblk(&r.features);
  r.ublk = probe.ok();
  if (!r.ublk) r.error = probe.ToString();
  blkgate::DecideRecovery(&r);
  const std::string out = json ? blkgate::FormatReportJson(BLKGATE_VERSION, r)
                               : blkgate::FormatReportText(BLKGATE_VERSION, r);
  std::fputs(out.c_str(), stdout);
  return 0;
}

bool TakeValue(int argc, char** argv, int* i, std::string_view name, std::string* out) {
  std::string_view a = argv[*i];
  if (a == name) {
    if (*i + 1 >= argc) return false;
    *out = argv[++*i];
    return true;
  }
  if (a.size() > name.size() && a.substr(0, name.size()) == name && a[name.size()] == '=') {
    *out = std::string(a.substr(name.size() + 1));
    return true;
  }
  return false;
}

// A whole number in [min, max] for option `name`; prints the error and returns false otherwise.
bool TakeNumber(std::string_view name, const std::string& v, unsigned long min, unsigned long max,
                unsigned* out) {
  char* end = nullptr;
  const unsigned long n = std::strtoul(v.c_str(), &end, 10);
  if (v.empty() || v[0] == '-' || *end || n < min || n > max) {
    std::fprintf(stderr, "blkgate: invalid-argument: bad %.*s '%s' (%lu-%lu)\n",
                 static_cast<int>(name.size()), name.data(), v.c_str(), min, max);
    return false;
  }
  *out = static_cast<unsigned>(n);
  return true;
}

// An option parser's verdict: true when `r` is ok; otherwise prints it and returns false.
bool Accepted(const blkgate::Result& r) {
  if (r.ok()) return true;
  std::fprintf(stderr, "blkgate: %s\n", r.ToString().c_str());
  return false;
}

// --data-path's values, named in value order.
enum class DataPathChoice : std::uint8_t { automatic, copy };
constexpr std::array<std::string_view, 2> kDataPathNames = {"auto", "copy"};
// --fua's values.
enum class OnOff : std::uint8_t { on, off };
constexpr std::array<std::string_view, 2> kOnOffNames = {"on", "off"};

// Raises the soft limit on open descriptors towards the hard one (at most 65536): the control
// socket's connections and every volume's rings and files count against it. An administrator's
// lower hard limit (ulimit -n) is kept.
void RaiseFdLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  const rlim_t want = std::min<rlim_t>(rl.rlim_max, 65536);
  if (rl.rlim_cur >= want) return;
  rl.rlim_cur = want;
  if (::setrlimit(RLIMIT_NOFILE, &rl) == 0)
    blkgate::Log("open file limit raised to " + std::to_string(want));
}

}  // namespace

int main(int argc, char** argv) {
  blkgate::DaemonOptions opts;
  bool version = false;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    std::string v;
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--version") {
      version = true;
    } else if (a == "--json") {
      json = true;
    } else if (TakeValue(argc, argv, &i, "--state-dir", &v)) {
      opts.state_dir = v;
    } else if (TakeValue(argc, argv, &i, "--socket", &v)) {
      opts.socket_path = v;
    } else if (TakeValue(argc, argv, &i, "--names-dir", &v)) {
      opts.names_dir = v;
    } else if (TakeValue(argc, argv, &i, "--group", &v)) {
      opts.group = v;
    } else if (TakeValue(argc, argv, &i, "--park-timeout", &v)) {
      if (!TakeNumber("--park-timeout", v, 1, 3'600'000, &opts.park_timeout_ms)) return 11;
    } else if (TakeValue(argc, argv, &i, "--hook-timeout", &v)) {
      if (!TakeNumber("--hook-timeout", v, 1, 3600, &opts.hook_timeout_s)) return 11;
    } else if (TakeValue(argc, argv, &i, "--on-crash", &v)) {
      if (!Accepted(blkgate::ParseCrashMode(v, &opts.on_crash))) return 11;
    } else if (TakeValue(argc, argv, &i, "--max-clients", &v)) {
      if (!TakeNumber("--max-clients", v, 1, 4096, &opts.max_clients)) return 11;
    } else if (TakeValue(argc, argv, &i, "--idle-timeout", &v)) {
      if (!TakeNumber("--idle-timeout", v, 0, 86400, &opts.idle_timeout_s)) return 11;
    } else if (TakeValue(argc, argv, &i, "--send-timeout", &v)) {
      if (!TakeNumber("--send-timeout", v, 1, 3600, &opts.send_timeout_s)) return 11;
    } else if (TakeValue(argc, argv, &i, "--data-path", &v)) {
      DataPathChoice choice{};
      if (!Accepted(blkgate::ParseByName(v, kDataPathNames, "--data-path", &choice))) return 11;
      opts.zero_copy = choice == DataPathChoice::automatic;
    } else if (TakeValue(argc, argv, &i, "--fua", &v)) {
      OnOff choice{};
      if (!Accepted(blkgate::ParseByName(v, kOnOffNames, "--fua", &choice))) return 11;
      opts.fua = choice == OnOff::on;
    } else if (TakeValue(argc, argv, &i, "--queue-cpus", &v)) {
      if (!Accepted(blkgate::ParseQueueCpus(v, &opts.queue_cpus))) return 11;
    } else if (TakeValue(argc, argv, &i, "--control-priority", &v)) {
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v == "idle") {
        opts.control_idle = true;
        opts.control_nice = 10;
      } else if (v.empty() || *end || n < 0 || n > 19) {
        std::fprintf(stderr,
                     "blkgate: invalid-argument: bad --control-priority '%s' (idle or 0-19)\n",
                     v.c_str());
        return 11;
      } else {
        opts.control_idle = false;
        opts.control_nice = static_cast<int>(n);
      }
    } else {
      std::fprintf(stderr, "blkgate: invalid-argument: unknown argument '%s'\n%s", argv[i], kUsage);
      return 11;
    }
  }
  if (json && !version) {
    std::fprintf(stderr, "blkgate: invalid-argument: --json goes with --version\n%s", kUsage);
    return 11;
  }
  if (version) return PrintVersion(json, opts);
  // Block the stop signals in every thread (queue threads inherit the mask); Run() takes them
  // through a signalfd.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  RaiseFdLimit();

  blkgate::Daemon daemon(opts);
  if (blkgate::Result r = daemon.Start(); !r.ok()) {
    blkgate::Log("cannot start: " + r.ToString());
    blkgate::service::Notify("STATUS=cannot start: " + r.ToString());
    return blkgate::CodeExitStatus(r.code());
  }
  return daemon.Run();  // every thread is joined by then; destructors run as usual
}
