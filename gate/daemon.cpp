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

// Size and identity of a backing store. not_found when missing.
Result InspectBacking(const std::string& path, std::uint64_t* size, DriveIdentity* id) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Result::Error(Code::not_found, path + " does not exist");
    return Result::FromErrno(errno, "stat " + path);
  }
  if (S_ISREG(st.st_mode)) {
    *size = static_cast<std::uint64_t>(st.st_size);
    *id = {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino), false};
    return Result::Ok();
  }
  if (S_ISBLK(st.st_mode)) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Result::FromErrno(errno, "open " + path);
    std::uint64_t bytes = 0;
    int rc = ::ioctl(fd, BLKGETSIZE64, &bytes);
    int err = errno;
    ::close(fd);
    if (rc != 0) return Result::FromErrno(err, "BLKGETSIZE64 " + path);
    *size = bytes;
    *id = {static_cast<std::uint64_t>(st.st_rdev), 0, true};
    return Result::Ok();
  }
  return Result::Error(Code::invalid_argument,
                       path + " is neither a regular file nor a block device");
}

unsigned CpuCount() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

Daemon::Daemon(DaemonOptions opts)
    : opts_(std::move(opts)), store_(DefaultEnv(), opts_.state_dir) {
  if (opts_.socket_path.empty()) opts_.socket_path = opts_.state_dir + "/control.sock";
}

Daemon::~Daemon() {
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

// ---- start / run ----------------------------------------------------------------------------

Result Daemon::Start() {
  if (::mkdir(opts_.state_dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Result::FromErrno(errno, "create state dir " + opts_.state_dir);
  const std::string lock_path = opts_.state_dir + "/lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) return Result::FromErrno(errno, "open " + lock_path);
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0)
    return Result::Error(Code::device_in_use,
                         "another blkgate daemon is using " + opts_.state_dir);

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
    auto rt = std::make_unique<Runtime>();
    PublishGate(v);  // no-op before the runtime exists; word set in StartDevice
    if (Result r = StartDevice(v, rt.get()); !r.ok()) {
      rt->last_error = r.ToString();
      Log("volume " + name + " not started: " + r.ToString());
    } else {
      Log("volume " + name + " restored as " + rt->device->block_path());
    }
    runtimes_.emplace(name, std::move(rt));
  }

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
        Log(std::string("caught ") + strsignal(static_cast<int>(si.ssi_signo)) +
            ", stopping");
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
    } else if (Result r = protocol::decode(line, &req); !r.ok()) {
      reply.result = r;
    } else {
      reply = Handle(req);
    }
    std::string wire = protocol::encode(reply);
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

protocol::Reply Daemon::Handle(const protocol::Request& req) {
  static const std::map<std::string, Handler, std::less<>> kOps = {
      {"ping", &Daemon::OpPing},
      {"list", &Daemon::OpList},
      {"drive.add", &Daemon::OpDriveAdd},
      {"drive.list", &Daemon::OpDriveList},
      {"drive.show", &Daemon::OpDriveShow},
      {"drive.remove", &Daemon::OpDriveRemove},
      {"disk.create", &Daemon::OpDiskCreate},
      {"disk.list", &Daemon::OpDiskList},
      {"disk.show", &Daemon::OpDiskShow},
      {"disk.delete", &Daemon::OpDiskDelete},
      {"volume.create", &Daemon::OpVolumeCreate},
      {"volume.list", &Daemon::OpVolumeList},
      {"volume.show", &Daemon::OpVolumeShow},
      {"volume.delete", &Daemon::OpVolumeDelete},
  };
  protocol::Reply reply;
  auto it = kOps.find(req.op);
  if (it == kOps.end()) {
    reply.result = Result::Error(Code::invalid_argument, "unknown operation '" + req.op + "'");
    return reply;
  }
  if (stopping_) {
    reply.result = Result::Error(Code::not_ready, "the daemon is stopping");
    return reply;
  }
  std::lock_guard lk(mu_);
  try {
    reply.result = (this->*(it->second))(req.args, &reply.data);
  } catch (const std::exception& e) {  // nlohmann or allocation: never crash the daemon
    reply.result = Result::Error(Code::invalid_argument, std::string("bad request: ") + e.what());
  }
  if (!reply.result.ok()) reply.data = Json::object();
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

void Daemon::PublishGate(const Volume& v) {
  auto it = runtimes_.find(v.name);
  if (it == runtimes_.end()) return;
  gate::publish(*it->second->gate, EffectiveGateWord(catalog_, v));
}

Result Daemon::StartDevice(const Volume& v, Runtime* rt) {
  DeviceSpec spec;
  spec.name = v.name;
  spec.size = v.size;
  spec.queues = EffectiveQueues(v);
  spec.depth = v.depth;
  spec.backend = v.backend;
  spec.segments = catalog_.segments(v);
  for (const Segment& s : spec.segments) spec.paths.push_back(catalog_.drive(s.drive)->path);
  if (const Disk* k = catalog_.disk(v.disk)) spec.read_only = k->read_only;
  spec.park_timeout_ms = opts_.park_timeout_ms;
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
  std::unique_ptr<VolumeDevice> dev;
  BLKGATE_TRY(VolumeDevice::Create(spec, &dev));
  rt->device = std::move(dev);
  rt->last_error.clear();
  return Result::Ok();
}

void Daemon::HandleBackendErrors() {
  std::lock_guard lk(mu_);
  Catalog next = catalog_;
  bool changed = false;
  for (auto& [name, rt] : runtimes_) {
    std::uint32_t bits = rt->failed_drives.exchange(0);
    const Volume* v = next.volume(name);
    if (!bits || !v) continue;
    const Disk* k = next.disk(v->disk);
    for (int i = 0; k && i < static_cast<int>(k->drives.size()); ++i) {
      if (!(bits & (1u << i))) continue;
      Drive* d = next.drive(k->drives[static_cast<std::size_t>(i)]);
      if (d && d->status != DriveStatus::failed) {
        d->status = DriveStatus::failed;
        changed = true;
        Log("drive " + d->name + " marked failed: backing I/O failed on volume " + name);
      }
    }
  }
  if (!changed) return;
  if (Result r = Commit(std::move(next)); !r.ok())
    Log("cannot persist failed drive state: " + r.ToString());
  for (const auto& [name, v] : catalog_.volumes()) PublishGate(v);
}

Json Daemon::DriveJson(const Drive& d) const {
  const Disk* k = catalog_.disk_of_drive(d.name);
  return {{"name", d.name},
          {"path", d.path},
          {"size", d.size},
          {"status", to_string(d.status)},
          {"disk", k ? Json(k->name) : Json(nullptr)}};
}

Json Daemon::DiskJson(const Disk& k) const {
  Json vols = Json::array();
  for (const Volume* v : catalog_.volumes_on_disk(k.name)) vols.push_back(v->name);
  return {{"name", k.name},
          {"drives", k.drives},
          {"size", catalog_.disk_size(k.name)},
          {"state", k.offline ? "offline" : "online"},
          {"read_only", k.read_only},
          {"volumes", std::move(vols)}};
}

Json Daemon::VolumeJson(const Volume& v) const {
  auto it = runtimes_.find(v.name);
  const Runtime* rt = it == runtimes_.end() ? nullptr : it->second.get();
  const VolumeDevice* dev = rt ? rt->device.get() : nullptr;
  const Disk* k = catalog_.disk(v.disk);
  std::string state = "online";
  if (!dev) state = "stopped";
  else if (v.offline || (k && k->offline)) state = "offline";
  Json mounts = Json::array();
  Json stats = Json::object();
  if (dev) {
    struct stat st;
    std::vector<MountEntry> m;
    if (::stat(dev->block_path().c_str(), &st) == 0 && MountsOfDevice(st.st_rdev, &m).ok())
      for (const auto& e : m) mounts.push_back(e.target);
    DeviceStats s = dev->stats();
    stats = {{"reads", s.reads},       {"writes", s.writes},
             {"flushes", s.flushes},   {"discards", s.discards},
             {"write_zeroes", s.write_zeroes}, {"refused", s.refused},
             {"backend_errors", s.backend_errors}, {"parked", s.parked}};
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
            {"backend", to_string(v.backend)},
            {"system", v.system},
            {"dismount", to_string(v.dismount)},
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
  BLKGATE_TRY(protocol::get_string(args, "name", &d.name));
  BLKGATE_TRY(protocol::get_string(args, "path", &d.path));
  std::uint64_t want = 0;
  BLKGATE_TRY(protocol::get_opt_u64(args, "size", &want));
  if (d.path.empty() || d.path[0] != '/')
    return Result::Error(Code::invalid_argument, "drive path must be absolute: '" + d.path + "'");
  if (args.contains("size") && (want == 0 || want % kSectorSize))
    return Result::Error(Code::invalid_argument,
                         "size must be a non-zero multiple of 512, got " + std::to_string(want));

  Result found = InspectBacking(d.path, &d.size, &d.identity);
  const bool create = found.code() == Code::not_found && want != 0;
  if (!found.ok() && !create) return found;
  if (found.ok() && want != 0 && want != d.size)
    return Result::Error(Code::invalid_argument,
                         d.path + " exists with size " + std::to_string(d.size) +
                             ", not the requested " + std::to_string(want));
  if (create) d.size = want;

  // Validate against the catalog before touching the file system, so a bad request creates
  // nothing.
  Catalog next = catalog_;
  BLKGATE_TRY(next.add_drive(d));
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
  BLKGATE_TRY(protocol::get_string(args, "name", &name));
  const Drive* d = catalog_.drive(name);
  if (!d) return Missing("drive", name);
  *data = DriveJson(*d);
  return Result::Ok();
}

Result Daemon::OpDriveRemove(const Json& args, Json*) {
  std::string name;
  BLKGATE_TRY(protocol::get_string(args, "name", &name));
  Catalog next = catalog_;
  BLKGATE_TRY(next.remove_drive(name));
  return Commit(std::move(next));
}

Result Daemon::OpDiskCreate(const Json& args, Json* data) {
  std::string name;
  BLKGATE_TRY(protocol::get_string(args, "name", &name));
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
  BLKGATE_TRY(next.create_disk(name, std::move(drives)));
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

Result Daemon::OpDiskShow(const Json& args, Json* data) {
  std::string name;
  BLKGATE_TRY(protocol::get_string(args, "name", &name));
  const Disk* k = catalog_.disk(name);
  if (!k) return Missing("disk", name);
  *data = DiskJson(*k);
  return Result::Ok();
}

Result Daemon::OpDiskDelete(const Json& args, Json*) {
  std::string name;
  BLKGATE_TRY(protocol::get_string(args, "name", &name));
  Catalog next = catalog_;
  BLKGATE_TRY(next.delete_disk(name));
  return Commit(std::move(next));
}

Result Daemon::OpVolumeCreate(const Json& args, Json* data) {
  Volume v;
  BLKGATE_TRY(protocol::get_string(args, "name", &v.name));
  BLKGATE_TRY(protocol::get_string(args, "disk", &v.disk));
  BLKGATE_TRY(protocol::get_u64(args, "size", &v.size));
  BLKGATE_TRY(protocol::get_opt_u64(args, "offset", &v.offset));
  std::uint64_t queues = 0, depth = v.depth;
  BLKGATE_TRY(protocol::get_opt_u64(args, "queues", &queues));
  BLKGATE_TRY(protocol::get_opt_u64(args, "depth", &depth));
  if (args.contains("queues") && (queues == 0 || queues > kMaxQueues))
    return Result::Error(Code::invalid_argument,
                         "queues must be 1.." + std::to_string(kMaxQueues));
  if (depth == 0 || depth > kMaxDepth)
    return Result::Error(Code::invalid_argument,
                         "depth must be a power of two in 1.." + std::to_string(kMaxDepth));
  v.queues = static_cast<std::uint16_t>(queues);
  v.depth = static_cast<std::uint16_t>(depth);
  std::string backend = "file";
  BLKGATE_TRY(protocol::get_opt_string(args, "backend", &backend));
  BLKGATE_TRY(parse_backend(backend, &v.backend));
  BLKGATE_TRY(protocol::get_opt_bool(args, "system", &v.system));

  Catalog next = catalog_;
  BLKGATE_TRY(next.create_volume(v));
  // Start the device against the new catalog; only then persist. Any failure unwinds.
  Catalog saved = std::move(catalog_);
  catalog_ = next;
  auto rt = std::make_unique<Runtime>();
  Result started = StartDevice(*catalog_.volume(v.name), rt.get());
  catalog_ = std::move(saved);
  if (!started.ok()) return started;
  if (Result r = Commit(std::move(next)); !r.ok()) {
    (void)rt->device->Stop();
    return r;
  }
  Log("volume " + v.name + " created as " + rt->device->block_path());
  runtimes_[v.name] = std::move(rt);
  *data = VolumeJson(*catalog_.volume(v.name));
  return Result::Ok();
}

Result Daemon::OpVolumeList(const Json&, Json* data) {
  Json volumes = Json::array();
  for (const auto& [n, v] : catalog_.volumes()) volumes.push_back(VolumeJson(v));
  *data = {{"volumes", volumes}};
  return Result::Ok();
}

Result Daemon::OpVolumeShow(const Json& args, Json* data) {
  std::string name;
  BLKGATE_TRY(protocol::get_string(args, "name", &name));
  const Volume* v = catalog_.volume(name);
  if (!v) return Missing("volume", name);
  *data = VolumeJson(*v);
  return Result::Ok();
}

Result Daemon::OpVolumeDelete(const Json& args, Json*) {
  std::string name;
  BLKGATE_TRY(protocol::get_string(args, "name", &name));
  if (!catalog_.volume(name)) return Missing("volume", name);
  auto it = runtimes_.find(name);
  Runtime* rt = it == runtimes_.end() ? nullptr : it->second.get();
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
  BLKGATE_TRY(next.delete_volume(name));
  BLKGATE_TRY(Commit(std::move(next)));
  if (rt && rt->device) {
    if (Result r = rt->device->Stop(); !r.ok())
      Log("volume " + name + ": stop failed: " + r.ToString());
  }
  runtimes_.erase(name);
  Log("volume " + name + " deleted");
  return Result::Ok();
}

}  // namespace blkgate
