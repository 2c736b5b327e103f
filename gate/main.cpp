// gate/main.cpp — the blkgate daemon's command line.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "daemon.h"
#include "log.h"

namespace {

constexpr const char* kUsage =
    "usage: blkgate [--state-dir DIR] [--socket PATH] [--group NAME] [--park-timeout MS]\n"
    "               [--hook-timeout SEC] [--control-priority idle|N] [--on-crash hold|fail]\n"
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
    "  --group NAME        also let members of group NAME use the control socket (mode 0660)\n"
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
    "                      with EIO (needs Linux 6.13+, refused at start otherwise)\n"
    "  -h, --help          this help\n";

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

}  // namespace

int main(int argc, char** argv) {
  blkgate::DaemonOptions opts;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    std::string v;
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (TakeValue(argc, argv, &i, "--state-dir", &v)) {
      opts.state_dir = v;
    } else if (TakeValue(argc, argv, &i, "--socket", &v)) {
      opts.socket_path = v;
    } else if (TakeValue(argc, argv, &i, "--group", &v)) {
      opts.group = v;
    } else if (TakeValue(argc, argv, &i, "--park-timeout", &v)) {
      char* end = nullptr;
      unsigned long ms = std::strtoul(v.c_str(), &end, 10);
      if (v.empty() || *end || ms == 0 || ms > 3'600'000) {
        std::fprintf(stderr, "blkgate: invalid-argument: bad --park-timeout '%s'\n", v.c_str());
        return 11;
      }
      opts.park_timeout_ms = static_cast<std::uint32_t>(ms);
    } else if (TakeValue(argc, argv, &i, "--hook-timeout", &v)) {
      char* end = nullptr;
      unsigned long s = std::strtoul(v.c_str(), &end, 10);
      if (v.empty() || *end || s == 0 || s > 3600) {
        std::fprintf(stderr, "blkgate: invalid-argument: bad --hook-timeout '%s'\n", v.c_str());
        return 11;
      }
      opts.hook_timeout_s = static_cast<unsigned>(s);
    } else if (TakeValue(argc, argv, &i, "--on-crash", &v)) {
      if (blkgate::Result r = blkgate::ParseCrashMode(v, &opts.on_crash); !r.ok()) {
        std::fprintf(stderr, "blkgate: %s\n", r.ToString().c_str());
        return 11;
      }
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
  // Block the stop signals in every thread (queue threads inherit the mask); Run() takes them
  // through a signalfd.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);

  blkgate::Daemon daemon(opts);
  if (blkgate::Result r = daemon.Start(); !r.ok()) {
    blkgate::Log("cannot start: " + r.ToString());
    return blkgate::CodeExitStatus(r.code());
  }
  return daemon.Run();  // every thread is joined by then; destructors run as usual
}
