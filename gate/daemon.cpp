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
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <vector>

#include "fault_point.h"
#include "log.h"
#include "service_notify.h"
#include "strict_modes.h"
#include "ublk_features.h"
#include "ublk_survey.h"

namespace blkgate {

Daemon::Daemon(DaemonOptions opts)
    : opts_(std::move(opts)),
      data_priority_(ThreadPriority::OfCallingThread()),
      store_(DefaultEnv(), opts_.state_dir) {
  if (opts_.socket_path.empty()) opts_.socket_path = opts_.state_dir + "/control.sock";
}

Daemon::~Daemon() {
  if (watchdog_) watchdog_->Stop();
  StopBackendErrors();
  if (server_) server_->Stop();  // joins every connection thread before the rest goes
}

Result Daemon::CheckStrictModes() {
  if (!opts_.state_dir.empty() && opts_.state_dir[0] != '/') {
    char cwd[PATH_MAX];
    if (!::getcwd(cwd, sizeof cwd)) return Result::FromErrno(errno, "getcwd");
    opts_.state_dir = std::string(cwd) + "/" + opts_.state_dir;
  }
  const uid_t owner = ::geteuid();
  struct stat st;
  if (::lstat(opts_.state_dir.c_str(), &st) != 0 && errno == ENOENT) {
    // Created 0700, and only where no one else can rename it or plant anything first.
    BLKGATE_TRY(CheckSafeParent(opts_.state_dir, owner, "state dir"));
    if (::mkdir(opts_.state_dir.c_str(), 0700) != 0 && errno != EEXIST)
      return Result::FromErrno(errno, "create state dir " + opts_.state_dir);
  }
  BLKGATE_TRY(CheckSafeDirectory(opts_.state_dir, owner, "state dir"));
  const std::string hooks = opts_.state_dir + "/hooks";
  if (::lstat(hooks.c_str(), &st) == 0 || errno != ENOENT)
    BLKGATE_TRY(CheckSafeDirectory(hooks, owner, "hooks dir"));
  return Result::Ok();
}

Result Daemon::Start() {
  // Strict modes (strict_modes.h) before anything is read or created in the state dir.
  BLKGATE_TRY(CheckStrictModes());
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
  UblkReport report;
  report.ublk = true;
  report.features = features;
  report.on_crash = opts_.on_crash;
  report.zero_copy = opts_.zero_copy;
  DecideRecovery(&report);
  Log(FormatReportLog(report));
  std::uint64_t recovery_flags = 0;
  BLKGATE_TRY(RecoveryFlags(opts_.on_crash, features, &recovery_flags));
  Log(std::string("new devices are recoverable: on a crash their requests ") +
      (opts_.on_crash == CrashMode::hold ? "wait for the next daemon" : "fail") + " (recovery " +
      std::string(RecoveryModeName(recovery_flags)) + ")");
  char real[PATH_MAX];
  const std::string dir = ::realpath(opts_.state_dir.c_str(), real) ? real : opts_.state_dir;

  BLKGATE_TRY(store_.Load(&catalog_));
  Log("state loaded from " + store_.path() + ": " + std::to_string(catalog_.drives().size()) +
      " drives, " + std::to_string(catalog_.disks().size()) + " disks, " +
      std::to_string(catalog_.volumes().size()) + " volumes");

  wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  shutdown_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  errors_quit_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_.valid() || !shutdown_.valid() || !errors_quit_.valid())
    return Result::FromErrno(errno, "eventfd");

  volumes_ = std::make_unique<VolumeRegistry>(VolumeRegistryOptions{
      opts_.park_timeout_ms, data_priority_, wake_.get(), recovery_flags, OwnerTag(dir),
      opts_.zero_copy, opts_.names_dir, opts_.queue_cpus, opts_.fua});
  hooks_ = std::make_unique<HookRunner>(
      HookOptions{opts_.state_dir + "/hooks", opts_.socket_path, opts_.hook_timeout_s, ::geteuid()},
      &tokens_);
  platform_ = std::make_unique<LinuxPlatform>(&store_, hooks_.get(), volumes_.get());
  platform_->SetShutdownHandler([this](bool keep) {
    keep_devices_.store(keep, std::memory_order_relaxed);
    const std::uint64_t one = 1;
    ssize_t n = ::write(shutdown_.get(), &one, sizeof one);
    (void)n;
  });
  controller_ = std::make_unique<Controller>(platform_.get(), &catalog_);
  dispatcher_ = std::make_unique<Dispatcher>(controller_.get(), &tokens_);
  events_ = std::make_unique<EventBus>();  // events: the start's (replayable), then each call's
  controller_->SetEventSink(events_.get());
  dispatcher_->SetEventBus(events_.get());

  TestRestoreDelay();  // test-only (fault_point.h): a slow restore, for the readiness test
  // Devices of ours no volume claims (a crash between the steps of a create or a delete) go
  // first. Then every volume's device (recovered when a previous daemon left it), mounts at
  // access paths, claims on offline / permanently dismounted volumes, read-only flags. A
  // volume whose device cannot start stays in the catalog ("stopped", with the reason): the
  // state is never dropped.
  dispatcher_->Locked([this](Controller& ctl) {
    std::set<int> claimed;
    for (const auto& [n, v] : ctl.catalog().volumes())
      if (v.dev_id >= 0) claimed.insert(v.dev_id);
    volumes_->RemoveOrphans(claimed);
    std::vector<std::string> notes;
    ctl.Restore(&notes);
    for (const auto& n : notes) Log("restore: " + n);
  });

  errors_thread_ = std::thread([this] { WatchBackendErrors(); });

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
      so, [d = dispatcher_.get()](const Peer& peer, std::string_view line,
                                  std::unique_ptr<MessageStream>* stream) {
        return d->HandleLine(peer, line, stream);
      });
  BLKGATE_TRY(server_->Start());
  ArmFaultPoints();  // test-only crash points count the calls' steps from here (no-op otherwise)
  // Every volume is restored (or stopped with its reason) and the socket listens: ready.
  const std::string summary = Summary();
  Log("ready: " + summary);
  service::Notify("READY=1\nSTATUS=" + summary);
  watchdog_ =
      std::make_unique<ServiceWatchdog>(&Heartbeats::Process(), service::WatchdogTimeout(),
                                        [](const std::string& state) { service::Notify(state); });
  return Result::Ok();
}

std::string Daemon::Summary() {
  std::size_t volumes = 0, offline = 0, stopped = 0;
  dispatcher_->Locked([&](Controller& ctl) {
    for (const auto& [name, v] : ctl.catalog().volumes()) {
      ++volumes;
      if (v.offline) ++offline;
      if (volumes_->BlockPath(name).empty()) ++stopped;
    }
  });
  return "serving " + std::to_string(volumes) + (volumes == 1 ? " volume" : " volumes") + " (" +
         std::to_string(offline) + " offline, " + std::to_string(stopped) + " stopped) on " +
         opts_.socket_path;
}

void Daemon::HandleBackendErrors() {
  dispatcher_->Locked([this](Controller& ctl) {
    ctl.SetEventCause(EventCause::backend_error);  // the events of the drives marked failed
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

void Daemon::WatchBackendErrors() {
  for (;;) {
    pollfd fds[2] = {{wake_.get(), POLLIN, 0}, {errors_quit_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      Log(std::string("backend errors: poll: ") + std::strerror(errno));
      return;
    }
    if (fds[1].revents & POLLIN) return;
    std::uint64_t n;
    if (::read(wake_.get(), &n, sizeof n) == sizeof n) HandleBackendErrors();
  }
}

void Daemon::StopBackendErrors() {
  if (!errors_thread_.joinable()) return;
  const std::uint64_t one = 1;
  ssize_t n = ::write(errors_quit_.get(), &one, sizeof one);
  (void)n;
  errors_thread_.join();
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
    pollfd fds[2] = {{sfd.get(), POLLIN, 0}, {shutdown_.get(), POLLIN, 0}};
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
      Log(keep_devices_.load(std::memory_order_relaxed)
              ? "shutdown requested: leaving every device for the next daemon"
              : "shutdown requested, stopping");
      break;
    }
  }
  if (watchdog_) watchdog_->Stop();
  service::Notify(std::string("STOPPING=1\nSTATUS=stopping: ") +
                  (keep_devices_.load(std::memory_order_relaxed)
                       ? "leaving every device for the next daemon"
                       : "deleting the devices not in use"));
  Log("stopping: waiting for the running call, if any");
  // No call starts from here on (a running one finishes first); then the connections go.
  dispatcher_->Stop();
  StopBackendErrors();
  server_->Stop();
  if (keep_devices_.load(std::memory_order_relaxed)) {
    // The queue threads finish the backing I/O in flight and commit it, then exit; the kernel
    // quiesces each device and holds new requests for the next daemon.
    const bool left = volumes_->LeaveAll();
    Log("every device left for the next daemon");
    return left ? 0 : 1;
  }
  // Never a dead mount: what can be unmounted is; a volume still in use keeps its device for
  // the next daemon. STOP_DEV completes in-flight requests first, so no acknowledged write is
  // lost; then DEL_DEV.
  std::vector<std::string> in_use;
  dispatcher_->Locked([&in_use](Controller& ctl) {
    std::vector<std::string> notes;
    ctl.DismountForStop(&in_use, &notes);
    for (const auto& n : notes) Log(n);
  });
  const bool stopped = volumes_->StopAll({in_use.begin(), in_use.end()});
  Log(in_use.empty() ? "all devices stopped"
                     : "all devices stopped but " + std::to_string(in_use.size()) +
                           " in use, kept for the next daemon");
  return stopped ? 0 : 1;
}

}  // namespace blkgate
