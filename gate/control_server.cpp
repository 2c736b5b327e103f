// gate/control_server.cpp — the control socket and its connections (see control_server.h).
#include "control_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <system_error>
#include <vector>

#include "blkgate/size.h"
#include "log.h"

namespace blkgate {
namespace {

using Clock = std::chrono::steady_clock;
constexpr Clock::time_point kNever = Clock::time_point::max();

enum class Ready { yes, quit, timeout, error };

// Waits until fd reports one of `events` (or hangs up), quit fires, or deadline passes.
Ready WaitFor(int fd, short events, int quit, Clock::time_point deadline) {
  pollfd fds[2] = {{fd, events, 0}, {quit, POLLIN, 0}};
  for (;;) {
    int ms = -1;
    if (deadline != kNever) {
      const auto left = deadline - Clock::now();
      if (left <= Clock::duration::zero()) return Ready::timeout;
      ms = static_cast<int>(
          std::min<long long>(INT_MAX, std::chrono::ceil<std::chrono::milliseconds>(left).count()));
    }
    const int n = ::poll(fds, 2, ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Ready::error;
    if (fds[1].revents) return Ready::quit;
    if (n > 0) return Ready::yes;
  }
}

// Sends all of wire by deadline. Ready::timeout: the client did not take it in time;
// Ready::error: it is gone; Ready::quit: the server is stopping.
Ready SendBy(int fd, std::string_view wire, int quit, Clock::time_point deadline) {
  for (std::size_t off = 0; off < wire.size();) {
    const ssize_t n = ::send(fd, wire.data() + off, wire.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (Ready r = WaitFor(fd, POLLOUT, quit, deadline); r != Ready::yes) return r;
    } else {
      return Ready::error;
    }
  }
  return Ready::yes;
}

// A reply the client did not ask for (a refusal, why its connection is closed), sent without
// waiting: what does not fit in the socket buffer is dropped.
void Tell(int fd, Result r) {
  protocol::Reply reply;
  reply.result = std::move(r);
  const std::string wire = protocol::Encode(reply);
  ssize_t n = ::send(fd, wire.data(), wire.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  (void)n;
}

std::string Describe(const Peer& p) {
  return "uid " + std::to_string(p.uid) + " pid " + std::to_string(p.pid);
}

}  // namespace

void ControlServer::RateLimitedLog::operator()(const std::string& message) {
  std::string line = message;
  {
    MutexLock lock(&mu_);
    const auto now = Clock::now();
    if (now < next_) {
      ++suppressed_;
      return;
    }
    if (suppressed_)
      line += " (and " + std::to_string(suppressed_) + " more like it in the last 10 s)";
    suppressed_ = 0;
    next_ = now + std::chrono::seconds(10);
  }
  Log(line);
}

Result ControlServer::Start() {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (o_.socket_path.size() >= sizeof(addr.sun_path))
    return Result::InvalidArgument("socket path too long: " + o_.socket_path);
  if (o_.max_clients == 0) return Result::InvalidArgument("max_clients must be at least 1");
  std::memcpy(addr.sun_path, o_.socket_path.c_str(), o_.socket_path.size() + 1);
  quit_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!quit_.valid()) return Result::FromErrno(errno, "eventfd");
  // The daemon holds the state dir's lock, so a socket file here is a stale one.
  ::unlink(o_.socket_path.c_str());
  listen_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listen_.valid()) return Result::FromErrno(errno, "socket");
  const mode_t old = ::umask(0177);
  const int rc = ::bind(listen_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  const int err = errno;
  ::umask(old);
  if (rc != 0) return Result::FromErrno(err, "bind " + o_.socket_path);
  // The group (the owner stays the daemon's: root).
  if (o_.group != static_cast<gid_t>(-1) &&
      (::chown(o_.socket_path.c_str(), static_cast<uid_t>(-1), o_.group) != 0 ||
       ::chmod(o_.socket_path.c_str(), 0660) != 0))
    return Result::FromErrno(errno, "set group of " + o_.socket_path);
  if (::listen(listen_.get(), 64) != 0) return Result::FromErrno(errno, "listen");
  reserve_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!reserve_.valid()) return Result::FromErrno(errno, "open /dev/null (the reserve fd)");
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) != 0) return Result::FromErrno(errno, "RLIMIT_NOFILE");
  const rlim_t soft = std::min<rlim_t>(nofile.rlim_cur, INT_MAX);
  fd_ceiling_ = static_cast<int>(soft - std::min<rlim_t>(soft, std::max<rlim_t>(32, soft / 8)));
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
  bool back_off = false;
  for (;;) {
    if (back_off) {
      // Out of descriptors with no reserve (or out of memory): give connections 100 ms to end
      // rather than retry at once. The listening socket stays readable meanwhile, so waiting on
      // it would return at once: wait on quit alone.
      pollfd q = {quit_.get(), POLLIN, 0};
      if (::poll(&q, 1, 100) > 0) return;
      back_off = false;
    }
    const Ready r = WaitFor(listen_.get(), POLLIN, quit_.get(), kNever);
    if (r == Ready::quit) return;
    if (r == Ready::error) {
      refusals_log_(std::string("poll on the control socket: ") + std::strerror(errno));
      back_off = true;
      continue;
    }
    Reap();
    if (!reserve_.valid()) reserve_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    UniqueFd c(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (c.valid()) {
      const bool kept_for_daemon = c.get() >= fd_ceiling_;
      Admit(std::move(c), kept_for_daemon);
      continue;
    }
    const int err = errno;
    if (err == EINTR || err == EAGAIN || err == EWOULDBLOCK || err == ECONNABORTED) continue;
    if ((err == EMFILE || err == ENFILE) && reserve_.valid()) {
      reserve_.reset();  // reopened at the next turn, once a descriptor is free again
      c.reset(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (c.valid()) Admit(std::move(c), true);
      continue;
    }
    refusals_log_(std::string("accept on the control socket: ") + std::strerror(err) +
                  "; retrying in 100 ms");
    back_off = true;
  }
}

void ControlServer::Admit(UniqueFd fd, bool out_of_fds) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return;
  const bool root = cred.uid == 0;
  std::string why;
  {
    MutexLock lock(&mu_);
    std::size_t live = 0;
    for (const Connection& c : connections_) live += !c.done && !c.evicted;
    // One connection is kept for root.
    const std::size_t limit = root ? o_.max_clients : o_.max_clients - 1;
    bool room = !out_of_fds && live < limit;
    if (!room && root) room = EvictForRoot();
    if (room) {
      connections_.emplace_back();
      Connection* c = &connections_.back();
      c->fd = std::move(fd);
      c->root = root;
      c->last_request = Clock::now();
      try {
        c->thread = std::thread([this, c] { Serve(c); });
        return;
      } catch (const std::system_error& e) {
        fd = std::move(c->fd);
        connections_.pop_back();
        why = std::string("cannot start a connection thread: ") + e.what();
      }
    } else if (out_of_fds) {
      why = "too many clients: the daemon is out of file descriptors";
    } else if (root) {
      why = "too many clients: all " + std::to_string(o_.max_clients) +
            " connections are in calls (blkgate --max-clients)";
    } else {
      why = "too many clients: the " + std::to_string(o_.max_clients - 1) +
            " connections for callers other than root are in use (blkgate --max-clients " +
            std::to_string(o_.max_clients) + " keeps one for root)";
    }
  }
  Tell(fd.get(), Result::NotReady(why));
  refusals_log_("refused a client (uid " + std::to_string(cred.uid) + " pid " +
                std::to_string(cred.pid) + "): " + why);
}

bool ControlServer::EvictForRoot() {
  Connection* victim = nullptr;
  for (Connection& c : connections_) {
    if (c.root || c.busy || c.evicted || c.done) continue;
    if (!victim || c.last_request < victim->last_request) victim = &c;
  }
  if (!victim) return false;
  victim->evicted = true;
  Tell(victim->fd.get(),
       Result::NotReady("connection closed to make room for root: too many clients "
                        "(blkgate --max-clients " +
                        std::to_string(o_.max_clients) + ")"));
  // Wakes its thread (recv sees the end); the thread closes the descriptor.
  ::shutdown(victim->fd.get(), SHUT_RDWR);
  return true;
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

void ControlServer::Serve(Connection* c) {
  // c->fd is written before this thread starts and closed only here, below.
  const int fd = c->fd.get();
  if (int r = o_.connection_priority.ApplyToCallingThread(); r < 0)
    Log("cannot lower the control thread's priority: " + std::string(std::strerror(-r)));
  ServeLines(c, fd);
  MutexLock lock(&mu_);
  c->fd.reset();
  c->done = true;
}

void ControlServer::ServeLines(Connection* c, int fd) {
  const Peer peer = Identify(fd);
  if (peer.role == ops::Role::none) {
    // Refused outright, without waiting for a request: the answer is there when it comes.
    Tell(fd, Result::PermissionDenied(peer.who));
    drops_log_("refused a client (" + Describe(peer) + "): " + peer.who);
    return;
  }
  auto idle_deadline = [this] {
    return o_.idle_timeout.count() > 0 ? Clock::now() + o_.idle_timeout : kNever;
  };
  Clock::time_point deadline = idle_deadline();
  std::string buf;
  std::size_t start = 0;  // buf[start..] is not answered yet
  char chunk[65536];
  for (;;) {
    std::size_t nl;
    while ((nl = buf.find('\n', start)) == std::string::npos) {
      buf.erase(0, start);
      start = 0;
      if (buf.size() > protocol::kMaxMessage) {
        protocol::Reply too_long;
        too_long.result = Result::ProtocolError("message larger than 1 MiB");
        SendBy(fd, protocol::Encode(too_long), quit_.get(), Clock::now() + o_.send_timeout);
        return;
      }
      const Ready r = WaitFor(fd, POLLIN, quit_.get(), deadline);
      if (r == Ready::timeout) {
        const std::string why = "no request within " + FormatSeconds(o_.idle_timeout) +
                                ": connection closed (blkgate --idle-timeout)";
        Tell(fd, Result::NotReady(why));
        drops_log_("closed an idle client (" + Describe(peer) + "): " + why);
        return;
      }
      if (r != Ready::yes) return;
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
      if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
      if (n <= 0) return;
      buf.append(chunk, static_cast<std::size_t>(n));
    }
    {
      MutexLock lock(&mu_);
      if (c->evicted) return;
      c->busy = true;
      c->last_request = Clock::now();
    }
    const std::string_view line = std::string_view(buf).substr(start, nl - start);
    start = nl + 1;
    std::unique_ptr<MessageStream> stream;
    const Ready sent = SendBy(fd, protocol::Encode(handler_(peer, line, &stream)), quit_.get(),
                              Clock::now() + o_.send_timeout);
    if (sent == Ready::timeout)
      drops_log_("dropped a client (" + Describe(peer) + "): it did not take its reply within " +
                 FormatSeconds(o_.send_timeout));
    if (sent != Ready::yes) return;
    {
      MutexLock lock(&mu_);
      c->busy = false;
    }
    if (stream) {
      ServeStream(peer, fd, stream.get());
      return;
    }
    deadline = idle_deadline();
  }
}

void ControlServer::ServeStream(const Peer& peer, int fd, MessageStream* stream) {
  char scratch[4096];
  for (;;) {
    pollfd fds[3] = {{fd, POLLIN, 0}, {stream->wake_fd(), POLLIN, 0}, {quit_.get(), POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[2].revents) return;
    if (fds[0].revents) {  // the client: anything it sends is ignored; its end ends the stream
      const ssize_t n = ::recv(fd, scratch, sizeof scratch, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) return;
    }
    if (fds[1].revents) {
      std::string wire;
      const bool more = stream->Take(&wire);
      if (!wire.empty()) {
        const Ready sent = SendBy(fd, wire, quit_.get(), Clock::now() + o_.send_timeout);
        if (sent == Ready::timeout)
          drops_log_("dropped a subscriber (" + Describe(peer) +
                     "): it did not take its events within " + FormatSeconds(o_.send_timeout));
        if (sent != Ready::yes) return;
      }
      if (!more) return;
    }
  }
}

}  // namespace blkgate
