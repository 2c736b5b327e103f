// tests/tools/blkgate-clients — attacks the blkgate control socket as a bad client would, for
// the VM tests in tests/e2e/hardening/, and times one ping.
//
//   blkgate-clients [--socket PATH] [--idle N] [--slow N] [--hold SEC]
//     opens N idle connections (that never send a byte) and N slow ones (that send a burst of
//     ping requests and never read a reply), prints "ready" once every connection is made, holds
//     them for SEC seconds (default 10), then prints what the daemon did to them, one key=value
//     a line: idle_connected, idle_open (still open at the end), idle_closed, idle_too_many,
//     idle_idle (closed for idleness), idle_evicted (closed to make room for root),
//     idle_denied (permission-denied), connect_failed, slow_connected, slow_dropped,
//     slow_dropped_after (seconds from the burst to the first drop; -1 when none).
//   blkgate-clients [--socket PATH] --ping [--timeout SEC]
//     connects, sends one ping and waits for the reply (default at most 5 s); prints
//     "result=NAME seconds=S" and exits 0 when the result is ok, 1 otherwise.
// The socket defaults to $BLKGATE_SOCKET. Exit 2 on bad usage. libc only; the protocol is
// written by hand (one JSON line each way) so that nothing of the project's client is trusted.
// Nothing of the project but UniqueFd.
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "blkgate/unique_fd.h"

namespace {

using blkgate::UniqueFd;
using Clock = std::chrono::steady_clock;

const char kPing[] = "{\"v\":1,\"op\":\"ping\",\"args\":{}}\n";

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// A connected socket, or none (errno set). connect() waits at most 5 s for the backlog.
UniqueFd Connect(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return UniqueFd();
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fd;
  timeval tv{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    fd.reset();
    errno = err;
  }
  return fd;
}

// The "result" member of a reply line, or "" when there is none.
std::string ResultOf(const std::string& reply) {
  const std::string key = "\"result\":\"";
  const std::size_t at = reply.find(key);
  if (at == std::string::npos) return "";
  const std::size_t start = at + key.size();
  return reply.substr(start, reply.find('"', start) - start);
}

int Ping(const std::string& path, int timeout_s) {
  const auto t0 = Clock::now();
  const UniqueFd conn = Connect(path);
  const int err = errno;
  const int fd = conn.get();
  std::string reply;
  if (conn.valid()) {
    ssize_t n = ::send(fd, kPing, sizeof kPing - 1, MSG_NOSIGNAL);
    (void)n;  // a refusal may have closed the connection: its answer is still read below
    const auto deadline = t0 + std::chrono::seconds(timeout_s);
    while (reply.find('\n') == std::string::npos && Clock::now() < deadline) {
      pollfd p = {fd, POLLIN, 0};
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (::poll(&p, 1, static_cast<int>(left.count()) + 1) <= 0) continue;
      char buf[4096];
      const ssize_t got = ::recv(fd, buf, sizeof buf, 0);
      if (got <= 0) break;
      reply.append(buf, static_cast<std::size_t>(got));
    }
  }
  std::string result =
      conn.valid() ? ResultOf(reply) : std::string("connect-failed:") + std::strerror(err);
  if (result.empty()) result = reply.find('\n') == std::string::npos ? "no-reply" : "garbled";
  std::printf("result=%s seconds=%.3f\n", result.c_str(), Since(t0));
  if (result != "ok") std::printf("reply=%s\n", reply.c_str());
  return result == "ok" ? 0 : 1;
}

struct Conn {
  UniqueFd fd;
  bool slow = false;
  std::string got;  // idle connections: what the daemon sent
  bool closed = false;
};

// Sends as much of a burst of pings as the socket takes without blocking.
void Burst(int fd) {
  std::string many;
  for (int i = 0; i < 4000; ++i) many += kPing;
  for (std::size_t off = 0; off < many.size();) {
    const ssize_t n = ::send(fd, many.data() + off, many.size() - off, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

int Attack(const std::string& path, int idle, int slow, int hold_s) {
  // Room for every connection: the soft descriptor limit up to the hard one.
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  std::vector<Conn> conns;
  int connect_failed = 0, timeouts = 0;
  std::string first_error;
  for (int i = 0; i < idle + slow && timeouts < 3; ++i) {
    UniqueFd fd = Connect(path);
    if (!fd.valid()) {
      ++connect_failed;
      timeouts += errno == EAGAIN;
      if (first_error.empty()) first_error = std::strerror(errno);
      continue;
    }
    Conn c;
    c.fd = std::move(fd);
    c.slow = i >= idle;
    conns.push_back(std::move(c));
  }
  const auto t0 = Clock::now();
  for (Conn& c : conns)
    if (c.slow) Burst(c.fd.get());
  std::printf("ready\n");
  std::fflush(stdout);

  double slow_dropped_after = -1;
  const auto end = t0 + std::chrono::seconds(hold_s);
  std::vector<pollfd> fds;
  while (Clock::now() < end) {
    fds.clear();
    for (const Conn& c : conns)
      fds.push_back(
          {c.closed ? -1 : c.fd.get(), static_cast<short>(c.slow ? POLLRDHUP : POLLIN), 0});
    if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
    for (std::size_t i = 0; i < conns.size(); ++i) {
      Conn& c = conns[i];
      if (c.closed || !fds[i].revents) continue;
      if (c.slow) {
        // Dropped by the daemon: seen as a hang-up, without reading a reply.
        if (!(fds[i].revents & (POLLHUP | POLLRDHUP | POLLERR))) continue;
        if (slow_dropped_after < 0) slow_dropped_after = Since(t0);
        c.closed = true;
        continue;
      }
      char buf[4096];
      const ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        c.got.append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        c.closed = true;
      }
    }
  }

  int idle_open = 0, idle_closed = 0, too_many = 0, idled = 0, evicted = 0, denied = 0;
  int slow_connected = 0, slow_dropped = 0;
  for (Conn& c : conns) {
    if (c.slow) {
      ++slow_connected;
      slow_dropped += c.closed;
    } else if (!c.closed) {
      ++idle_open;
    } else {
      ++idle_closed;
      too_many += c.got.find("too many clients") != std::string::npos &&
                  c.got.find("make room for root") == std::string::npos;
      idled += c.got.find("no request within") != std::string::npos;
      evicted += c.got.find("make room for root") != std::string::npos;
      denied += ResultOf(c.got) == "permission-denied";
    }
  }
  std::printf(
      "idle_connected=%d\nidle_open=%d\nidle_closed=%d\nidle_too_many=%d\nidle_idle=%d\n"
      "idle_evicted=%d\nidle_denied=%d\nconnect_failed=%d\nslow_connected=%d\n"
      "slow_dropped=%d\nslow_dropped_after=%.1f\n",
      idle_open + idle_closed, idle_open, idle_closed, too_many, idled, evicted, denied,
      connect_failed, slow_connected, slow_dropped, slow_dropped_after);
  if (!first_error.empty()) std::printf("connect_error=%s\n", first_error.c_str());
  return 0;
}

int Usage() {
  std::fputs(
      "usage: blkgate-clients [--socket PATH] [--idle N] [--slow N] [--hold SEC]\n"
      "       blkgate-clients [--socket PATH] --ping [--timeout SEC]\n",
      stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const char* env = std::getenv("BLKGATE_SOCKET");
  std::string path = env ? env : "";
  int idle = 0, slow = 0, hold = 10, timeout = 5;
  bool ping = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--ping") {
      ping = true;
      continue;
    }
    if (i + 1 >= argc) return Usage();
    const std::string v = argv[++i];
    char* end = nullptr;
    const long n = std::strtol(v.c_str(), &end, 10);
    const bool number = !v.empty() && *end == '\0' && n >= 0 && n <= 100000;
    if (a == "--socket") {
      path = v;
    } else if (number && a == "--idle") {
      idle = static_cast<int>(n);
    } else if (number && a == "--slow") {
      slow = static_cast<int>(n);
    } else if (number && a == "--hold") {
      hold = static_cast<int>(n);
    } else if (number && a == "--timeout") {
      timeout = static_cast<int>(n);
    } else {
      return Usage();
    }
  }
  if (path.empty()) return Usage();
  return ping ? Ping(path, timeout) : Attack(path, idle, slow, hold);
}
