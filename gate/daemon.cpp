#include "daemon.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/fs.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "log.h"
#include "mounts.h"

namespace blkgate {

using Json = nlohmann::json;

namespace {

Result Missing(std::string_view kind, std::string_view name) {
  return Result::Error(Code::not_found,
                       std::string(kind) + " '" + std::string(name) + "' does not exist");
}

unsigned CpuCount() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

Daemon::Daemon(DaemonOptions opts) : opts_(std::move(opts)), store_(DefaultEnv(), opts_.state_dir) {
  if (opts_.socket_path.empty()) opts_.socket_path = opts_.state_dir + "/control.sock";
  PlatformOptions po;
  po.hooks_dir = opts_.state_dir + "/hooks";
  po.socket_path = opts_.socket_path;
  po.hook_timeout_s = opts_.hook_timeout_s;
  platform_ = std::make_unique<LinuxPlatform>(
      po, &store_, &tokens_, [this](const std::string& v) { return RuntimeOf(v); });
  controller_ = std::make_unique<Controller>(platform_.get(), &catalog_);
}

VolumeRuntime* Daemon::RuntimeOf(const std::string& volume) {
  auto it = runtimes_.find(volume);
  return it == runtimes_.end() ? nullptr : it->second.get();
}

Daemon::~Daemon() {
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

// ---- start / run ----------------------------------------------------------------------------

Result Daemon::Start() {
  data_priority_ = ThreadPriority::OfCallingThread();
  if (::mkdir(opts_.state_dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Result::FromErrno(errno, "create state dir " + opts_.state_dir);
  const std::string lock_path = opts_.state_dir + "/lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) return Result::FromErrno(errno, "open " + lock_path);
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0)
    return Result::Error(Code::device_in_use, "another blkgate daemon is using " + opts_.state_dir);

  if (!opts_.group.empty()) {
    struct group* g = ::getgrnam(opts_.group.c_str());
    if (!g) return Result::Error(Code::invalid_argument, "unknown group '" + opts_.group + "'");
    group_gid_ = g->gr_gid;
  }

  std::uint64_t features = 0;
  BLKGATE_TRY(ProbeUblk(&features));
  Log("ublk features 0x" + [&] {
    char b[32];
    std::snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(features));
    return std::string(b);
  }());

  BLKGATE_TRY(store_.Load(&catalog_));
  Log("state loaded from " + store_.path() + ": " + std::to_string(catalog_.drives().size()) +
      " drives, " + std::to_string(catalog_.disks().size()) + " disks, " +
      std::to_string(catalog_.volumes().size()) + " volumes");

  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return Result::FromErrno(errno, "eventfd");

  // Recreate every volume's device. A volume whose device cannot start stays in the catalog
  // ("stopped", with the reason) — the state is never dropped.
  for (const auto& [name, v] : catalog_.volumes()) {
    auto rt = std::make_unique<VolumeRuntime>();
    if (Result r = StartDevice(v, rt.get()); !r.ok()) {
      rt->last_error = r.ToString();
      Log("volume " + name + " not started: " + r.ToString());
    } else {
      Log("volume " + name + " restored as " + rt->device->block_path());
    }
    runtimes_.emplace(name, std::move(rt));
  }
  // Remember the ids the devices got (restore asks for them again next time).
  {
    Catalog next = catalog_;
    bool changed = false;
    for (const auto& [name, rt] : runtimes_) {
      Volume* v = next.volume(name);
      if (v && rt->device && v->dev_id != rt->device->dev_id()) {
        v->dev_id = rt->device->dev_id();
        changed = true;
      }
    }
    if (changed) {
      if (Result r = Commit(std::move(next)); !r.ok())
        Log("cannot record device ids: " + r.ToString());
    }
  }
  // Mounts at access paths, claims on offline / permanently dismounted volumes, read-only flags.
  std::vector<std::string> notes;
  controller_->Restore(&notes);
  for (const auto& n : notes) Log("restore: " + n);
  snapshot_ = catalog_;

  // The control socket: refuse to steal a live daemon's socket, replace a stale one.
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (opts_.socket_path.size() >= sizeof(addr.sun_path))
    return Result::Error(Code::invalid_argument, "socket path too long: " + opts_.socket_path);
  std::memcpy(addr.sun_path, opts_.socket_path.c_str(), opts_.socket_path.size() + 1);
  ::unlink(opts_.socket_path.c_str());
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return Result::FromErrno(errno, "socket");
  mode_t old = ::umask(0177);
  int rc = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::umask(old);
  if (rc != 0) return Result::FromErrno(err, "bind " + opts_.socket_path);
  if (group_gid_ != static_cast<gid_t>(-1)) {
    if (::chown(opts_.socket_path.c_str(), 0, group_gid_) != 0 ||
        ::chmod(opts_.socket_path.c_str(), 0660) != 0)
      return Result::FromErrno(errno, "set group of " + opts_.socket_path);
  }
  if (::listen(listen_fd_, 64) != 0) return Result::FromErrno(errno, "listen");
  Log("listening on " + opts_.socket_path);
  return Result::Ok();
}

int Daemon::Run() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC);
  if (sfd < 0) {
    Log(std::string("signalfd: ") + std::strerror(errno));
    return 1;
  }
  for (;;) {
    pollfd fds[3] = {{listen_fd_, POLLIN, 0}, {sfd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      Log(std::string("poll: ") + std::strerror(errno));
      break;
    }
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo si;
      if (::read(sfd, &si, sizeof si) == sizeof si)
        Log(std::string("caught ") + strsignal(static_cast<int>(si.ssi_signo)) + ", stopping");
      break;
    }
    if (fds[2].revents & POLLIN) {
      std::uint64_t n;
      if (::read(wake_fd_, &n, sizeof n) == sizeof n) HandleBackendErrors();
    }
    if (fds[0].revents & POLLIN) {
      int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::thread([this, c] { ServeConnection(c); }).detach();
    }
  }
  ::close(sfd);
  stopping_ = true;
  ::close(listen_fd_);
  listen_fd_ = -1;
  ::unlink(opts_.socket_path.c_str());

  // Stop every device: STOP_DEV completes in-flight requests first, so no acknowledged write
  // is lost; then DEL_DEV. The catalog lock keeps control calls out while we do it.
  std::lock_guard lk(mu_);
  int status = 0;
  for (auto& [name, rt] : runtimes_) {
    if (rt->claim_fd >= 0) ::close(rt->claim_fd);
    rt->claim_fd = -1;
    if (!rt->device) continue;
    if (Result r = rt->device->Stop(); !r.ok()) {
      Log("volume " + name + ": stop failed: " + r.ToString());
      status = 1;
    }
    rt->device.reset();
  }
  Log("all devices stopped");
  return status;
}

// ---- connections ----------------------------------------------------------------------------

bool Daemon::PeerAllowed(int fd, std::string* why) const {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    *why = std::string("SO_PEERCRED: ") + std::strerror(errno);
    return false;
  }
  if (cred.uid == 0) return true;
  if (group_gid_ != static_cast<gid_t>(-1)) {
    if (cred.gid == group_gid_) return true;
    if (struct passwd* pw = ::getpwuid(cred.uid)) {
      int n = 64;
      std::vector<gid_t> groups(static_cast<std::size_t>(n));
      if (::getgrouplist(pw->pw_name, pw->pw_gid, groups.data(), &n) >= 0 &&
          std::find(groups.begin(), groups.begin() + n, group_gid_) != groups.begin() + n)
        return true;
    }
  }
  *why = "uid " + std::to_string(cred.uid) + " is not root" +
         (opts_.group.empty() ? std::string() : " nor in group " + opts_.group);
  return false;
}

void Daemon::ServeConnection(int fd) {
  ThreadPriority control;
  control.policy = opts_.control_idle ? SCHED_IDLE : SCHED_OTHER;
  control.nice = std::min(19, data_priority_.nice + opts_.control_nice);
  if (int r = control.ApplyToCallingThread(); r < 0)
    Log("cannot lower the control thread's priority: " + std::string(std::strerror(-r)));
  std::string why;
  const bool allowed = PeerAllowed(fd, &why);
  std::string buf;
  char chunk[65536];
  for (;;) {
    std::size_t nl;
    while ((nl = buf.find('\n')) == std::string::npos) {
      if (buf.size() > protocol::kMaxMessage) {
        ::close(fd);
        return;
      }
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(fd);
        return;
      }
      buf.append(chunk, static_cast<std::size_t>(n));
    }
    std::string line = buf.substr(0, nl);
    buf.erase(0, nl + 1);
    protocol::Reply reply;
    protocol::Request req;
    if (!allowed) {
      reply.result = Result::Error(Code::permission_denied, why);
    } else if (Result r = protocol::Decode(line, &req); !r.ok()) {
      reply.result = r;
    } else {
      reply = Handle(req);
    }
    std::string wire = protocol::Encode(reply);
    for (std::size_t off = 0; off < wire.size();) {
      ssize_t n = ::send(fd, wire.data() + off, wire.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(fd);
        return;
      }
      off += static_cast<std::size_t>(n);
    }
  }
}

std::vector<std::string> Daemon::FootprintOf(const protocol::Request& req) {
  // REQUIRES: claims_mu_ held. Works on snapshot_, never on catalog_ (mu_ may be held long).
  Controller view(nullptr, &snapshot_);
  auto name = [&](const char* key) {
    auto it = req.args.find(key);
    return it != req.args.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const std::string& op = req.op;
  auto starts = [&](const char* p) { return op.rfind(p, 0) == 0; };
  if (op == "refresh") {
    std::vector<std::string> all;
    for (const auto& [n, d] : snapshot_.drives()) all.push_back("drive/" + n);
    return all;
  }
  if (starts("resource.")) {
    Kind k;
    if (!ParseKind(name("kind"), &k).ok()) return {};
    return view.Footprint(k, name("name"));
  }
  if (op == "volume.create") {
    return {"volume/" + name("name"), "disk/" + name("disk")};
  }
  if (op.find(".list") != std::string::npos || op.find(".show") != std::string::npos ||
      op == "volume.path.list")
    return {};
  if (starts("volume.")) return view.Footprint(Kind::volume, name("name"));
  if (starts("disk.")) return view.Footprint(Kind::disk, name("name"));
  if (starts("drive.")) return view.Footprint(Kind::drive, name("name"));
  return {};
}

protocol::Reply Daemon::Handle(const protocol::Request& req) {
  static const std::map<std::string, Handler, std::less<>> kOps = {
      {"ping", &Daemon::OpPing},
      {"list", &Daemon::OpList},
      {"refresh", &Daemon::OpRefresh},
      {"drive.add", &Daemon::OpDriveAdd},
      {"drive.list", &Daemon::OpDriveList},
      {"drive.show", &Daemon::OpDriveShow},
      {"drive.remove", &Daemon::OpDriveRemove},
      {"drive.set-status", &Daemon::OpDriveSetStatus},
      {"disk.create", &Daemon::OpDiskCreate},
      {"disk.list", &Daemon::OpDiskList},
      {"disk.show", &Daemon::OpDiskShow},
      {"disk.delete", &Daemon::OpDiskDelete},
      {"disk.offline", &Daemon::OpDiskOffline},
      {"disk.online", &Daemon::OpDiskOnline},
      {"disk.set-readonly", &Daemon::OpDiskSetReadOnly},
      {"volume.create", &Daemon::OpVolumeCreate},
      {"volume.list", &Daemon::OpVolumeList},
      {"volume.show", &Daemon::OpVolumeShow},
      {"volume.delete", &Daemon::OpVolumeDelete},
      {"volume.offline", &Daemon::OpVolumeOffline},
      {"volume.online", &Daemon::OpVolumeOnline},
      {"volume.dismount", &Daemon::OpVolumeDismount},
      {"volume.mount", &Daemon::OpVolumeMount},
      {"volume.path.add", &Daemon::OpPathAdd},
      {"volume.path.remove", &Daemon::OpPathRemove},
      {"volume.path.list", &Daemon::OpPathList},
      {"resource.offline", &Daemon::OpResourceOffline},
      {"resource.online", &Daemon::OpResourceOnline},
  };
  protocol::Reply reply;
  // A call from inside a hook would wait for the call that runs the hook: refuse it.
  if (!req.hook.empty()) {
    if (std::string what = tokens_.Find(req.hook); !what.empty()) {
      reply.result = Result::Error(Code::reentrant_call,
                                   "control calls are refused from inside a hook (" + what + ")");
      return reply;
    }
  }
  auto it = kOps.find(req.op);
  if (it == kOps.end()) {
    reply.result = Result::Error(Code::invalid_argument, "unknown operation '" + req.op + "'");
    return reply;
  }
  if (stopping_) {
    reply.result = Result::Error(Code::not_ready, "the daemon is stopping");
    return reply;
  }
  // Claim the objects the call works on, or refuse at once.
  std::vector<std::string> footprint;
  {
    std::lock_guard ck(claims_mu_);
    footprint = FootprintOf(req);
    for (const auto& key : footprint) {
      if (claimed_.count(key)) {
        const bool resource = req.op.rfind("resource.", 0) == 0;
        reply.result =
            Result::Error(resource ? Code::invalid_state : Code::another_call_in_progress,
                          resource ? key + " is pending: another call is changing it"
                                   : "another call is in progress on " + key);
        return reply;
      }
    }
    claimed_.insert(footprint.begin(), footprint.end());
  }
  {
    std::lock_guard lk(mu_);
    try {
      reply.result = (this->*(it->second))(req.args, &reply.data);
    } catch (const std::exception& e) {  // nlohmann or allocation: never crash the daemon
      reply.result = Result::Error(Code::invalid_argument, std::string("bad request: ") + e.what());
    }
    if (!reply.result.ok()) reply.data = Json::object();
    std::lock_guard ck(claims_mu_);
    snapshot_ = catalog_;
    for (const auto& key : footprint) claimed_.erase(key);
  }
  return reply;
}

// ---- helpers --------------------------------------------------------------------------------

Result Daemon::Commit(Catalog next) {
  BLKGATE_TRY(store_.Save(next));
  catalog_ = std::move(next);
  return Result::Ok();
}

std::uint16_t Daemon::EffectiveQueues(const Volume& v) const {
  if (v.queues) return v.queues;
  return static_cast<std::uint16_t>(std::min<unsigned>(CpuCount(), kMaxQueues));
}

Result Daemon::StartDevice(const Volume& v, VolumeRuntime* rt) {
  DeviceSpec spec;
  spec.name = v.name;
  spec.size = v.size;
  spec.queues = EffectiveQueues(v);
  spec.depth = v.depth;
  spec.backend = v.backend;
  spec.segments = catalog_.Segments(v);
  for (const Segment& s : spec.segments) spec.paths.push_back(catalog_.drive(s.drive)->path);
  spec.park_timeout_ms = opts_.park_timeout_ms;
  spec.priority = data_priority_;
  gate::publish(*rt->gate, EffectiveGateWord(catalog_, v));
  spec.gate = rt->gate.get();
  const int wake = wake_fd_;
  std::atomic<std::uint32_t>* failed = &rt->failed_drives;
  spec.on_backend_error = [wake, failed](int drive_index, int) {
    failed->fetch_or(1u << drive_index, std::memory_order_relaxed);
    std::uint64_t one = 1;
    ssize_t n = ::write(wake, &one, sizeof one);  // non-blocking eventfd
    (void)n;
  };
  // Ask for the id it had, so a restart keeps /dev/ublkbN and clears a device a crashed daemon
  // left behind; if a live device holds that id, take any.
  spec.dev_id = v.dev_id;
  std::unique_ptr<VolumeDevice> dev;
  Result created = VolumeDevice::Create(spec, &dev);
  if (created.code() == Code::already_exists && spec.dev_id >= 0) {
    Log("volume " + v.name + ": ublk id " + std::to_string(spec.dev_id) +
        " is taken by a live device; using another");
    spec.dev_id = -1;
    created = VolumeDevice::Create(spec, &dev);
  }
  BLKGATE_TRY(created);
  rt->device = std::move(dev);
  rt->last_error.clear();
  return Result::Ok();
}

void Daemon::HandleBackendErrors() {
  std::lock_guard lk(mu_);
  std::vector<std::string> failed;
  for (auto& [name, rt] : runtimes_) {
    std::uint32_t bits = rt->failed_drives.exchange(0);
    const Volume* v = catalog_.volume(name);
    const Disk* k = v ? catalog_.disk(v->disk) : nullptr;
    for (int i = 0; k && i < static_cast<int>(k->drives.size()); ++i)
      if (bits & (1u << i)) failed.push_back(k->drives[static_cast<std::size_t>(i)]);
  }
  for (const auto& d : failed) {
    const Drive* drive = catalog_.drive(d);
    if (!drive || drive->status == DriveStatus::failed) continue;
    Log("drive " + d + " failed: its backing I/O returned an error");
    if (Result r = controller_->DriveFailed(d); !r.ok())
      Log("cannot mark drive " + d + " failed: " + r.ToString());
  }
  std::lock_guard ck(claims_mu_);
  snapshot_ = catalog_;
}

Json Daemon::DriveJson(const Drive& d) const {
  const Disk* k = catalog_.DiskOfDrive(d.name);
  return {{"name", d.name},
          {"path", d.path},
          {"size", d.size},
          {"status", ToString(d.status)},
          {"state", ToString(controller_->StateOf(Kind::drive, d.name))},
          {"cache", controller_->IsCorrupt(d.name) ? "corrupt" : "ok"},
          {"disk", k ? Json(k->name) : Json(nullptr)}};
}

Json Daemon::DiskJson(const Disk& k) const {
  Json vols = Json::array();
  for (const Volume* v : catalog_.VolumesOnDisk(k.name)) vols.push_back(v->name);
  return {{"name", k.name},
          {"drives", k.drives},
          {"size", catalog_.DiskSize(k.name)},
          {"state", ToString(controller_->StateOf(Kind::disk, k.name))},
          {"read_only", k.read_only},
          {"volumes", std::move(vols)}};
}

Json Daemon::VolumeJson(const Volume& v) const {
  auto it = runtimes_.find(v.name);
  const VolumeRuntime* rt = it == runtimes_.end() ? nullptr : it->second.get();
  const VolumeDevice* dev = rt ? rt->device.get() : nullptr;
  const Disk* k = catalog_.disk(v.disk);
  std::string state = dev ? std::string(ToString(controller_->StateOf(Kind::volume, v.name)))
                          : std::string("stopped");
  Json mounts = Json::array();
  Json stats = Json::object();
  if (dev) {
    struct stat st;
    std::vector<MountEntry> m;
    if (::stat(dev->block_path().c_str(), &st) == 0 && MountsOfDevice(st.st_rdev, &m).ok())
      for (const auto& e : m) mounts.push_back(e.target);
    DeviceStats s = dev->stats();
    stats = {{"reads", s.reads},
             {"writes", s.writes},
             {"flushes", s.flushes},
             {"discards", s.discards},
             {"write_zeroes", s.write_zeroes},
             {"refused", s.refused},
             {"backend_errors", s.backend_errors},
             {"parked", s.parked}};
  }
  Json j = {{"name", v.name},
            {"disk", v.disk},
            {"offset", v.offset},
            {"size", v.size},
            {"device", dev ? Json(dev->block_path()) : Json(nullptr)},
            {"dev_id", dev ? dev->dev_id() : -1},
            {"state", state},
            {"read_only", k && k->read_only},
            {"queues", EffectiveQueues(v)},
            {"depth", v.depth},
            {"backend", ToString(v.backend)},
            {"system", v.system},
            {"dismount", ToString(v.dismount)},
            {"access_paths", v.access_paths},
            {"mounts", std::move(mounts)},
            {"stats", std::move(stats)}};
  if (rt && !rt->last_error.empty()) j["error"] = rt->last_error;
  return j;
}

// ---- operations -----------------------------------------------------------------------------

Result Daemon::OpPing(const Json&, Json* data) {
  *data = {{"version", "0.1.0"}, {"pid", ::getpid()}};
  return Result::Ok();
}

Result Daemon::OpList(const Json&, Json* data) {
  Json drives = Json::array(), disks = Json::array(), volumes = Json::array();
  for (const auto& [n, d] : catalog_.drives()) drives.push_back(DriveJson(d));
  for (const auto& [n, k] : catalog_.disks()) disks.push_back(DiskJson(k));
  for (const auto& [n, v] : catalog_.volumes()) volumes.push_back(VolumeJson(v));
  *data = {{"drives", drives}, {"disks", disks}, {"volumes", volumes}};
  return Result::Ok();
}

Result Daemon::OpDriveAdd(const Json& args, Json* data) {
  Drive d;
  BLKGATE_TRY(protocol::GetString(args, "name", &d.name));
  BLKGATE_TRY(protocol::GetString(args, "path", &d.path));
  std::uint64_t want = 0;
  BLKGATE_TRY(protocol::GetOptU64(args, "size", &want));
  if (d.path.empty() || d.path[0] != '/')
    return Result::Error(Code::invalid_argument, "drive path must be absolute: '" + d.path + "'");
  if (args.contains("size") && (want == 0 || want % kSectorSize))
    return Result::Error(Code::invalid_argument,
                         "size must be a non-zero multiple of 512, got " + std::to_string(want));

  Result found = InspectBacking(d.path, &d.size, &d.identity);
  const bool create = found.code() == Code::not_found && want != 0;
  if (!found.ok() && !create) return found;
  if (found.ok() && want != 0 && want != d.size)
    return Result::Error(Code::invalid_argument, d.path + " exists with size " +
                                                     std::to_string(d.size) +
                                                     ", not the requested " + std::to_string(want));
  if (create) d.size = want;

  // Validate against the catalog before touching the file system, so a bad request creates
  // nothing.
  Catalog next = catalog_;
  BLKGATE_TRY(next.AddDrive(d));
  if (create) {
    int fd = ::open(d.path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return Result::FromErrno(errno, "create " + d.path);
    if (::ftruncate(fd, static_cast<off_t>(want)) != 0 || ::fsync(fd) != 0) {
      int err = errno;
      ::close(fd);
      ::unlink(d.path.c_str());
      return Result::FromErrno(err, "size " + d.path);
    }
    ::close(fd);
    std::uint64_t sz;
    if (Result r = InspectBacking(d.path, &sz, &next.drive(d.name)->identity); !r.ok()) {
      ::unlink(d.path.c_str());
      return r;
    }
  }
  if (Result r = Commit(std::move(next)); !r.ok()) {
    if (create) ::unlink(d.path.c_str());
    return r;
  }
  *data = DriveJson(*catalog_.drive(d.name));
  return Result::Ok();
}

Result Daemon::OpDriveList(const Json&, Json* data) {
  Json drives = Json::array();
  for (const auto& [n, d] : catalog_.drives()) drives.push_back(DriveJson(d));
  *data = {{"drives", drives}};
  return Result::Ok();
}

Result Daemon::OpDriveShow(const Json& args, Json* data) {
  std::string name;
  BLKGATE_TRY(protocol::GetString(args, "name", &name));
  const Drive* d = catalog_.drive(name);
  if (!d && controller_->IsDeleted(name))
    return Result::Error(Code::object_deleted, "drive '" + name + "' was removed");
  if (!d) return Missing("drive", name);
  *data = DriveJson(*d);
  return Result::Ok();
}

Result Daemon::OpDriveRemove(const Json& args, Json*) {
  std::string name;
  BLKGATE_TRY(protocol::GetString(args, "name", &name));
  return controller_->DriveRemove(name);
}

Result Daemon::OpDriveSetStatus(const Json& args, Json* data) {
  std::string name, status;
  BLKGATE_TRY(protocol::GetString(args, "name", &name));
  BLKGATE_TRY(protocol::GetString(args, "status", &status));
  BLKGATE_TRY(controller_->DriveSetStatus(name, status));
  *data = DriveJson(*catalog_.drive(name));
  return Result::Ok();
}

Result Daemon::OpRefresh(const Json&, Json* data) {
  std::vector<std::string> changed;
  BLKGATE_TRY(controller_->Refresh(&changed));
  Json drives = Json::array();
  for (const auto& [n, d] : catalog_.drives()) drives.push_back(DriveJson(d));
  *data = {{"drives", drives}, {"changed", changed}};
  return Result::Ok();
}

Result Daemon::OpDiskCreate(const Json& args, Json* data) {
  std::string name;
  BLKGATE_TRY(protocol::GetString(args, "name", &name));
  auto it = args.find("drives");
  if (it == args.end() || !it->is_array())
    return Result::Error(Code::invalid_argument, "argument 'drives' must be a list of names");
  std::vector<std::string> drives;
  for (const auto& d : *it) {
    if (!d.is_string())
      return Result::Error(Code::invalid_argument, "argument 'drives' must be a list of names");
    drives.push_back(d.get<std::string>());
  }
  Catalog next = catalog_;
  BLKGATE_TRY(next.CreateDisk(name, std::move(drives)));
  BLKGATE_TRY(Commit(std::move(next)));
  *data = DiskJson(*catalog_.disk(name));
  return Result::Ok();
}

Result Daemon::OpDiskList(const Json&, Json* data) {
  Json disks = Json::array();
  for (const auto& [n, k] : catalog_.disks()) disks.push_back(DiskJson(k));
  *data = {{"disks", disks}};
  return Result::Ok();
}

Result Daemon::ShowDisk(const std::string& name, Json* data) {
  const Disk* k = catalog_.disk(name);
  if (!k) return Missing("disk", name);
  *data = DiskJson(*k);
  return Result::Ok();
}

Result Daemon::OpDiskShow(const Json& args, Json* data) {
  std::string name;
  BLKGATE_TRY(protocol::GetString(args, "name", &name));
  return ShowDisk(name, data);
}

Result Daemon::OpDiskOffline(const Json& args, Json* data) {
  std::string name;
  bool force = false;
  BLKGATE_TRY(protocol::GetString(args, "name", &name));
  BLKGATE_TRY(protocol::GetOptBool(args, "force", &force));
  BLKGATE_TRY(controller_->DiskOffline(name, force));
  return ShowDisk(name, data);
}

Result Daemon::OpDiskOnline(const Json& args, Json* data) {
  std::string name;
  BLKGATE_TRY(protocol::GetString(args, "name", &name));
  BLKGATE_TRY(controller_->DiskOnline(name));
  return ShowDisk(name, data);
}

Result Daemon::OpDiskSetReadOnly(const Json& args, Json* data) {
  std::string name;
  bool ro = false;
  BLKGATE_TRY(protocol::GetString(args, "name", &name));
  if (!args.contains("read_only"))
    return Result::Error(Code::invalid_argument, "missing argument 'read_only'");
  BLKGATE_TRY(protocol::GetOptBool(args, "read_only", &ro));
  BLKGATE_TRY(controller_->DiskSetReadOnly(name, ro));
  return ShowDisk(name, data);
}

Result Daemon::OpDiskDelete(const Json& args, Json*) {
  std::string name;
  BLKGATE_TRY(protocol::GetString(args, "name", &name));
  Catalog next = catalog_;
  BLKGATE_TRY(next.DeleteDisk(name));
  return Commit(std::move(next));
}

Result Daemon::OpVolumeCreate(const Json& args, Json* data) {
  Volume v;
  BLKGATE_TRY(protocol::GetString(args, "name", &v.name));
  BLKGATE_TRY(protocol::GetString(args, "disk", &v.disk));
  BLKGATE_TRY(protocol::GetU64(args, "size", &v.size));
  BLKGATE_TRY(protocol::GetOptU64(args, "offset", &v.offset));
  std::uint64_t queues = 0, depth = v.depth;
  BLKGATE_TRY(protocol::GetOptU64(args, "queues", &queues));
  BLKGATE_TRY(protocol::GetOptU64(args, "depth", &depth));
  if (args.contains("queues") && (queues == 0 || queues > kMaxQueues))
    return Result::Error(Code::invalid_argument, "queues must be 1.." + std::to_string(kMaxQueues));
  if (depth == 0 || depth > kMaxDepth)
    return Result::Error(Code::invalid_argument,
                         "depth must be a power of two in 1.." + std::to_string(kMaxDepth));
  v.queues = static_cast<std::uint16_t>(queues);
  v.depth = static_cast<std::uint16_t>(depth);
  std::string backend = "file";
  BLKGATE_TRY(protocol::GetOptString(args, "backend", &backend));
  BLKGATE_TRY(ParseBackend(backend, &v.backend));
  BLKGATE_TRY(protocol::GetOptBool(args, "system", &v.system));

  // Without --offset the volume goes into the lowest free 1 MiB-aligned gap of the disk.
  if (!args.contains("offset"))
    BLKGATE_TRY(catalog_.FindFreeExtent(v.disk, v.size, 1 << 20, &v.offset));
  Catalog next = catalog_;
  BLKGATE_TRY(next.CreateVolume(v));
  // Start the device against the new catalog; only then persist. Any failure unwinds.
  Catalog saved = std::move(catalog_);
  catalog_ = next;
  auto rt = std::make_unique<VolumeRuntime>();
  Result started = StartDevice(*catalog_.volume(v.name), rt.get());
  catalog_ = std::move(saved);
  if (!started.ok()) return started;
  next.volume(v.name)->dev_id = rt->device->dev_id();
  if (Result r = Commit(std::move(next)); !r.ok()) {
    (void)rt->device->Stop();
    return r;
  }
  Log("volume " + v.name + " created as " + rt->device->block_path());
  runtimes_[v.name] = std::move(rt);
  const Volume& nv = *catalog_.volume(v.name);
  if (const Disk* k = catalog_.disk(v.disk)) {
    if (k->read_only) (void)platform_->SetDeviceReadOnly(nv, true);
    if (k->offline) platform_->Claim(nv, true);
  }
  *data = VolumeJson(*catalog_.volume(v.name));
  return Result::Ok();
}

Result Daemon::OpVolumeList(const Json&, Json* data) {
  Json volumes = Json::array();
  for (const auto& [n, v] : catalog_.volumes()) volumes.push_back(VolumeJson(v));
  *data = {{"volumes", volumes}};
  return Result::Ok();
}

Result Daemon::ShowVolume(const std::string& name, Json* data) {
  const Volume* v = catalog_.volume(name);
  if (!v) return Missing("volume", name);
  *data = VolumeJson(*v);
  return Result::Ok();
}

Result Daemon::OpVolumeShow(const Json& args, Json* data) {
  std::string name;
  BLKGATE_TRY(protocol::GetString(args, "name", &name));
  return ShowVolume(name, data);
}

Result Daemon::OpVolumeOffline(const Json& args, Json* data) {
  std::string name;
  bool force = false;
  BLKGATE_TRY(protocol::GetString(args, "name", &name));
  BLKGATE_TRY(protocol::GetOptBool(args, "force", &force));
  BLKGATE_TRY(controller_->VolumeOffline(name, force));
  return ShowVolume(name, data);
}

Result Daemon::OpVolumeOnline(const Json& args, Json* data) {
  std::string name;
  BLKGATE_TRY(protocol::GetString(args, "name", &name));
  Result r = controller_->VolumeOnline(name);
  if (!r.ok()) return r;
  BLKGATE_TRY(ShowVolume(name, data));
  return r;  // ok, possibly with a note about a failed remount
}

Result Daemon::OpVolumeDismount(const Json& args, Json* data) {
  std::string name;
  bool force = false, permanent = false;
  BLKGATE_TRY(protocol::GetString(args, "name", &name));
  BLKGATE_TRY(protocol::GetOptBool(args, "force", &force));
  BLKGATE_TRY(protocol::GetOptBool(args, "permanent", &permanent));
  BLKGATE_TRY(controller_->VolumeDismount(name, force, permanent));
  return ShowVolume(name, data);
}

Result Daemon::OpVolumeMount(const Json& args, Json* data) {
  std::string name;
  BLKGATE_TRY(protocol::GetString(args, "name", &name));
  BLKGATE_TRY(controller_->VolumeMount(name));
  return ShowVolume(name, data);
}

Result Daemon::OpPathAdd(const Json& args, Json* data) {
  std::string name, path;
  BLKGATE_TRY(protocol::GetString(args, "name", &name));
  BLKGATE_TRY(protocol::GetString(args, "path", &path));
  BLKGATE_TRY(controller_->PathAdd(name, path));
  return ShowVolume(name, data);
}

Result Daemon::OpPathRemove(const Json& args, Json* data) {
  std::string name, path;
  BLKGATE_TRY(protocol::GetString(args, "name", &name));
  BLKGATE_TRY(protocol::GetString(args, "path", &path));
  BLKGATE_TRY(controller_->PathRemove(name, path));
  return ShowVolume(name, data);
}

Result Daemon::OpPathList(const Json& args, Json* data) {
  std::string name;
  BLKGATE_TRY(protocol::GetString(args, "name", &name));
  const Volume* v = catalog_.volume(name);
  if (!v) return Missing("volume", name);
  *data = {{"access_paths", v->access_paths}};
  return Result::Ok();
}

static Result ResourceArgs(const nlohmann::json& args, Kind* kind, std::string* name) {
  std::string k;
  BLKGATE_TRY(protocol::GetString(args, "kind", &k));
  BLKGATE_TRY(ParseKind(k, kind));
  return protocol::GetString(args, "name", name);
}

static nlohmann::json ChangesJson(const std::vector<Change>& changed) {
  nlohmann::json out = nlohmann::json::array();
  for (const Change& c : changed)
    out.push_back({{"kind", ToString(c.kind)}, {"name", c.name}, {"state", ToString(c.state)}});
  return out;
}

Result Daemon::OpResourceOffline(const Json& args, Json* data) {
  Kind kind;
  std::string name;
  BLKGATE_TRY(ResourceArgs(args, &kind, &name));
  std::vector<Change> changed;
  BLKGATE_TRY(controller_->ResourceOffline(kind, name, &changed));
  *data = {{"changed", ChangesJson(changed)}};
  return Result::Ok();
}

Result Daemon::OpResourceOnline(const Json& args, Json* data) {
  Kind kind;
  std::string name;
  BLKGATE_TRY(ResourceArgs(args, &kind, &name));
  std::vector<Change> changed;
  BLKGATE_TRY(controller_->ResourceOnline(kind, name, &changed));
  *data = {{"changed", ChangesJson(changed)}};
  return Result::Ok();
}

Result Daemon::OpVolumeDelete(const Json& args, Json*) {
  std::string name;
  BLKGATE_TRY(protocol::GetString(args, "name", &name));
  if (!catalog_.volume(name)) return Missing("volume", name);
  auto it = runtimes_.find(name);
  VolumeRuntime* rt = it == runtimes_.end() ? nullptr : it->second.get();
  if (rt && rt->device) {
    struct stat st;
    std::vector<MountEntry> m;
    if (::stat(rt->device->block_path().c_str(), &st) == 0) {
      BLKGATE_TRY(MountsOfDevice(st.st_rdev, &m));
      if (!m.empty())
        return Result::Error(Code::device_in_use,
                             "volume '" + name + "' is mounted at " + m[0].target);
      // An exclusive open fails with EBUSY while anything else holds the device exclusively
      // (a mount in another namespace, a device-mapper table, another O_EXCL user).
      int fd = ::open(rt->device->block_path().c_str(), O_RDONLY | O_EXCL | O_CLOEXEC);
      if (fd < 0 && errno == EBUSY)
        return Result::Error(Code::device_in_use, "volume '" + name + "' is in use");
      if (fd >= 0) ::close(fd);
    }
  }
  Catalog next = catalog_;
  BLKGATE_TRY(next.DeleteVolume(name));
  BLKGATE_TRY(Commit(std::move(next)));
  if (rt && rt->claim_fd >= 0) {
    ::close(rt->claim_fd);
    rt->claim_fd = -1;
  }
  if (rt && rt->device) {
    if (Result r = rt->device->Stop(); !r.ok())
      Log("volume " + name + ": stop failed: " + r.ToString());
  }
  runtimes_.erase(name);
  Log("volume " + name + " deleted");
  return Result::Ok();
}

}  // namespace blkgate
