// gate/daemon.cpp — start-up, the main loop and shutdown (see daemon.h).
#include "daemon.h"

#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "log.h"

namespace blkgate {

Daemon::Daemon(DaemonOptions opts)
    : opts_(std::move(opts)),
      data_priority_(ThreadPriority::OfCallingThread()),
      store_(DefaultEnv(), opts_.state_dir) {
  if (opts_.socket_path.empty()) opts_.socket_path = opts_.state_dir + "/control.sock";
}

Daemon::~Daemon() {
  if (server_) server_->Stop();  // joins every connection thread before the rest goes
}

Result Daemon::Start() {
  if (::mkdir(opts_.state_dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Result::FromErrno(errno, "create state dir " + opts_.state_dir);
  const std::string lock_path = opts_.state_dir + "/lock";
  lock_.reset(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock_.valid()) return Result::FromErrno(errno, "open " + lock_path);
  if (::flock(lock_.get(), LOCK_EX | LOCK_NB) != 0)
    return Result::DeviceInUse("another blkgate daemon is using " + opts_.state_dir);

  gid_t group = static_cast<gid_t>(-1);
  if (!opts_.group.empty()) {
    struct group* g = ::getgrnam(opts_.group.c_str());
    if (!g) return Result::InvalidArgument("unknown group '" + opts_.group + "'");
    group = g->gr_gid;
  }

  std::uint64_t features = 0;
  BLKGATE_TRY(ProbeUblk(&features));
  char hex[32];
  std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(features));
  Log(std::string("ublk features 0x") + hex);

  BLKGATE_TRY(store_.Load(&catalog_));
  Log("state loaded from " + store_.path() + ": " + std::to_string(catalog_.drives().size()) +
      " drives, " + std::to_string(catalog_.disks().size()) + " disks, " +
      std::to_string(catalog_.volumes().size()) + " volumes");

  wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_.valid()) return Result::FromErrno(errno, "eventfd");

  volumes_ = std::make_unique<VolumeRegistry>(
      VolumeRegistryOptions{opts_.park_timeout_ms, data_priority_, wake_.get()});
  hooks_ = std::make_unique<HookRunner>(
      HookOptions{opts_.state_dir + "/hooks", opts_.socket_path, opts_.hook_timeout_s}, &tokens_);
  platform_ = std::make_unique<LinuxPlatform>(&store_, hooks_.get(), volumes_.get());
  controller_ = std::make_unique<Controller>(platform_.get(), &catalog_);
  dispatcher_ = std::make_unique<Dispatcher>(controller_.get(), &tokens_);

  // Every volume's device, then mounts at access paths, claims on offline / permanently
  // dismounted volumes, read-only flags. A volume whose device cannot start stays in the
  // catalog ("stopped", with the reason): the state is never dropped.
  dispatcher_->Locked([](Controller& ctl) {
    std::vector<std::string> notes;
    ctl.Restore(&notes);
    for (const auto& n : notes) Log("restore: " + n);
  });

  ControlServerOptions so;
  so.socket_path = opts_.socket_path;
  so.group = group;
  so.group_name = opts_.group;
  so.connection_priority.policy = opts_.control_idle ? SCHED_IDLE : SCHED_OTHER;
  so.connection_priority.nice = std::min(19, data_priority_.nice + opts_.control_nice);
  so.max_clients = opts_.max_clients;
  so.idle_timeout = std::chrono::seconds(opts_.idle_timeout_s);
  so.send_timeout = std::chrono::seconds(opts_.send_timeout_s);
  server_ = std::make_unique<ControlServer>(
      so, [d = dispatcher_.get()](const Peer& peer, std::string_view line) {
        return d->HandleLine(peer, line);
      });
  return server_->Start();
}

void Daemon::HandleBackendErrors() {
  dispatcher_->Locked([this](Controller& ctl) {
    std::vector<std::string> failed;
    for (const auto& [volume, bits] : volumes_->TakeFailedDrives()) {
      const Volume* v = ctl.catalog().volume(volume);
      const Disk* k = v ? ctl.catalog().disk(v->disk) : nullptr;
      for (std::size_t i = 0; k && i < k->drives.size(); ++i)
        if (bits & (1u << i)) failed.push_back(k->drives[i]);
    }
    for (const auto& d : failed) {
      const Drive* drive = ctl.catalog().drive(d);
      if (!drive || drive->status == DriveStatus::failed) continue;
      Log("drive " + d + " failed: its backing I/O returned an error");
      if (Result r = ctl.DriveFailed(d); !r.ok())
        Log("cannot mark drive " + d + " failed: " + r.ToString());
    }
  });
}

int Daemon::Run() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  UniqueFd sfd(::signalfd(-1, &mask, SFD_CLOEXEC));
  if (!sfd.valid()) {
    Log(std::string("signalfd: ") + std::strerror(errno));
    return 1;
  }
  for (;;) {
    pollfd fds[2] = {{sfd.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      Log(std::string("poll: ") + std::strerror(errno));
      break;
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si;
      if (::read(sfd.get(), &si, sizeof si) == sizeof si)
        Log(std::string("caught ") + strsignal(static_cast<int>(si.ssi_signo)) + ", stopping");
      break;
    }
    if (fds[1].revents & POLLIN) {
      std::uint64_t n;
      if (::read(wake_.get(), &n, sizeof n) == sizeof n) HandleBackendErrors();
    }
  }
  // No call starts from here on (a running one finishes first); then the connections go.
  dispatcher_->Stop();
  server_->Stop();
  // STOP_DEV completes in-flight requests first, so no acknowledged write is lost; then
  // DEL_DEV.
  const bool stopped = volumes_->StopAll();
  Log("all devices stopped");
  return stopped ? 0 : 1;
}

}  // namespace blkgate
