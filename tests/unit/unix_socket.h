// tests/unit/unix_socket.h — raw unix-socket clients for the control server and client tests:
// a temporary socket path, connecting (also as another uid), one request/reply round trip, and
// reading what a server sends until it closes. Test code: bad input is a REQUIRE; what the
// server does is returned for the test to check.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#include "blkgate/unique_fd.h"

namespace blkgate::testing {

inline std::string TempSocket(const std::string& tag = "") {
  return "/tmp/blkgate-test-" + std::to_string(::getpid()) + tag + ".sock";
}

inline sockaddr_un AddressOf(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(path.size() < sizeof addr.sun_path);
  std::strcpy(addr.sun_path, path.c_str());
  return addr;
}

// Connects fd to path with effective uid `uid` and gid `gid`, for this thread only: the raw
// setresuid/setresgid system calls (not glibc's, which change every thread) keep root's saved
// ids to come back to. Needs root for other ids; the socket file must let them write to it.
// Returns connect's result (-1 and errno also when the ids cannot be taken). Asserts nothing,
// so it may run while no descriptor is free (see test_dispatch.cpp); aborts if it cannot
// switch back, as no test may go on under another uid.
inline int ConnectAs(int fd, const std::string& path, uid_t uid, gid_t gid = ::getegid()) {
  const sockaddr_un addr = AddressOf(path);
  const uid_t saved_uid = ::geteuid();
  const gid_t saved_gid = ::getegid();
  int rc = -1;
  if (::syscall(SYS_setresgid, -1, gid, -1) == 0 && ::syscall(SYS_setresuid, -1, uid, -1) == 0) {
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  }
  const int err = errno;
  if (::syscall(SYS_setresuid, -1, saved_uid, -1) != 0 ||
      ::syscall(SYS_setresgid, -1, saved_gid, -1) != 0) {
    std::abort();
  }
  errno = err;
  return rc;
}

// A new connection to path, as uid and gid (default: whoever runs the test).
inline UniqueFd Dial(const std::string& path, uid_t uid = ::geteuid(), gid_t gid = ::getegid()) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.valid());
  REQUIRE(ConnectAs(fd.get(), path, uid, gid) == 0);
  return fd;
}

struct Received {
  std::string data;
  bool closed = false;  // the server closed the connection (else: `within` passed)
};

// What the server sends on fd until it closes it or `within` passes.
inline Received Drain(int fd, std::chrono::milliseconds within) {
  Received r;
  const auto deadline = std::chrono::steady_clock::now() + within;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p = {fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return r;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      r.closed = true;
      return r;
    }
    r.data.append(buf, static_cast<std::size_t>(n));
  }
}

// Sends one request line and returns the reply line (without '\n'); "" if the request could
// not be sent or no reply came in 5 s. Asserts nothing (see ConnectAs).
inline std::string RoundTrip(int fd, const std::string& op = "ping") {
  const std::string req = "{\"v\":1,\"op\":\"" + op + "\",\"args\":{}}\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    return "";
  }
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p = {fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    line.append(buf, static_cast<std::size_t>(n));
  }
  const std::size_t nl = line.find('\n');
  return nl == std::string::npos ? "" : line.substr(0, nl);
}

}  // namespace blkgate::testing
