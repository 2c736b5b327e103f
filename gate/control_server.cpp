// gate/control_server.cpp — the control socket and its connections (see control_server.h).
#include "control_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "log.h"

namespace blkgate {
namespace {

// Waits until fd is readable or quit fires. False on quit or error.
bool WaitReadable(int fd, int quit) {
  pollfd fds[2] = {{fd, POLLIN, 0}, {quit, POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (fds[1].revents) return false;
    return true;
  }
}

bool SendAll(int fd, const std::string& wire) {
  for (std::size_t off = 0; off < wire.size();) {
    ssize_t n = ::send(fd, wire.data() + off, wire.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

Result ControlServer::Start() {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (o_.socket_path.size() >= sizeof(addr.sun_path))
    return Result::InvalidArgument("socket path too long: " + o_.socket_path);
  std::memcpy(addr.sun_path, o_.socket_path.c_str(), o_.socket_path.size() + 1);
  quit_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!quit_.valid()) return Result::FromErrno(errno, "eventfd");
  // The daemon holds the state dir's lock, so a socket file here is a stale one.
  ::unlink(o_.socket_path.c_str());
  listen_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listen_.valid()) return Result::FromErrno(errno, "socket");
  const mode_t old = ::umask(0177);
  const int rc = ::bind(listen_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  const int err = errno;
  ::umask(old);
  if (rc != 0) return Result::FromErrno(err, "bind " + o_.socket_path);
  if (o_.group != static_cast<gid_t>(-1) && (::chown(o_.socket_path.c_str(), 0, o_.group) != 0 ||
                                             ::chmod(o_.socket_path.c_str(), 0660) != 0))
    return Result::FromErrno(errno, "set group of " + o_.socket_path);
  if (::listen(listen_.get(), 64) != 0) return Result::FromErrno(errno, "listen");
  acceptor_ = std::thread([this] { AcceptLoop(); });
  Log("listening on " + o_.socket_path);
  return Result::Ok();
}

void ControlServer::Stop() {
  if (stopped_ || !quit_.valid()) return;
  stopped_ = true;
  std::uint64_t one = 1;
  ssize_t n = ::write(quit_.get(), &one, sizeof one);
  (void)n;
  if (acceptor_.joinable()) acceptor_.join();
  listen_.reset();
  ::unlink(o_.socket_path.c_str());
  std::list<Connection> all;
  {
    MutexLock lock(&mu_);
    all.swap(connections_);
  }
  for (Connection& c : all) c.thread.join();
}

void ControlServer::Reap() {
  std::list<Connection> finished;
  {
    MutexLock lock(&mu_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      auto next = std::next(it);
      if (it->done) finished.splice(finished.end(), connections_, it);
      it = next;
    }
  }
  for (Connection& c : finished) c.thread.join();
}

void ControlServer::AcceptLoop() {
  while (WaitReadable(listen_.get(), quit_.get())) {
    UniqueFd c(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!c.valid()) continue;
    Reap();
    MutexLock lock(&mu_);
    connections_.emplace_back();
    Connection* conn = &connections_.back();
    conn->thread = std::thread([this, conn, fd = std::move(c)]() mutable {
      Serve(std::move(fd));
      MutexLock done_lock(&mu_);
      conn->done = true;
    });
  }
}

Peer ControlServer::Identify(int fd) const {
  Peer p;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    p.who = std::string("SO_PEERCRED: ") + std::strerror(errno);
    return p;
  }
  p.pid = cred.pid;
  p.uid = cred.uid;
  p.gid = cred.gid;
  const std::string uid = "uid " + std::to_string(cred.uid);
  if (cred.uid == 0) {
    p.role = ops::Role::root;
    p.who = uid + " is root";
    return p;
  }
  if (o_.group == static_cast<gid_t>(-1)) {
    p.who = uid + " is not root";
    return p;
  }
  bool member = cred.gid == o_.group;
  if (!member) {
    // The connecting process's supplementary groups, as the kernel holds them.
    std::vector<gid_t> groups(64);
    for (;;) {
      socklen_t size = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
      if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &size) == 0) {
        groups.resize(size / sizeof(gid_t));
        break;
      }
      if (errno != ERANGE || size / sizeof(gid_t) <= groups.size()) {
        p.who = uid + ": SO_PEERGROUPS: " + std::strerror(errno);
        return p;
      }
      groups.resize(size / sizeof(gid_t));
    }
    member = std::find(groups.begin(), groups.end(), o_.group) != groups.end();
  }
  if (member) {
    p.role = ops::Role::operator_;
    p.who = uid + " is in group " + o_.group_name;
  } else {
    p.who = uid + " is not root nor in group " + o_.group_name;
  }
  return p;
}

void ControlServer::Serve(UniqueFd fd) {
  if (int r = o_.connection_priority.ApplyToCallingThread(); r < 0)
    Log("cannot lower the control thread's priority: " + std::string(std::strerror(-r)));
  const Peer peer = Identify(fd.get());
  std::string buf;
  char chunk[65536];
  for (;;) {
    std::size_t nl;
    while ((nl = buf.find('\n')) == std::string::npos) {
      if (buf.size() > protocol::kMaxMessage) {
        protocol::Reply too_long;
        too_long.result = Result::ProtocolError("message larger than 1 MiB");
        SendAll(fd.get(), protocol::Encode(too_long));
        return;
      }
      if (!WaitReadable(fd.get(), quit_.get())) return;
      ssize_t n = ::recv(fd.get(), chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      buf.append(chunk, static_cast<std::size_t>(n));
    }
    const std::string line = buf.substr(0, nl);
    buf.erase(0, nl + 1);
    if (!SendAll(fd.get(), protocol::Encode(handler_(peer, line)))) return;
  }
}

}  // namespace blkgate
