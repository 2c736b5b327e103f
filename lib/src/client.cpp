// lib/src/client.cpp — the control library's connection to the daemon (see client.h): one
// request line out, one reply line back, every wait bounded by the client's timeout.
#include "blkgate/client.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "blkgate/protocol.h"
#include "blkgate/size.h"

namespace blkgate {
namespace {

using Clock = std::chrono::steady_clock;
constexpr Clock::time_point kNever = Clock::time_point::max();

// Waits for `events` on fd until deadline; false when it passed.
bool WaitUntil(int fd, short events, Clock::time_point deadline) {
  pollfd p = {fd, events, 0};
  for (;;) {
    int ms = -1;
    if (deadline != kNever) {
      const auto left = deadline - Clock::now();
      if (left <= Clock::duration::zero()) return false;
      ms = static_cast<int>(
          std::min<long long>(INT_MAX, std::chrono::ceil<std::chrono::milliseconds>(left).count()));
    }
    const int n = ::poll(&p, 1, ms);
    if (n > 0 || (n < 0 && errno != EINTR)) return true;  // ready, or let the call say why
  }
}

Result Broken(std::string_view what, int err) {
  return Result::ProtocolError(std::string(what) + ": " + std::strerror(err));
}

}  // namespace

std::string DefaultSocketPath() {
  if (const char* s = std::getenv("BLKGATE_SOCKET"); s && *s) return s;
  // The systemd unit's socket (RuntimeDirectory=blkgate) when it is there, else the daemon's
  // own default in its state dir.
  struct stat st;
  if (::stat(kServiceSocketPath, &st) == 0 && S_ISSOCK(st.st_mode)) return kServiceSocketPath;
  return "/var/lib/blkgate/control.sock";
}

Result Client::Connect(const std::string& path, std::unique_ptr<Client>* out,
                       std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path))
    return Result::InvalidArgument("socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Result::FromErrno(errno, "socket");
  if (timeout.count() > 0) {
    // A unix connect() waits for room in the daemon's backlog at most SO_SNDTIMEO, then fails
    // with EAGAIN. Sends use MSG_DONTWAIT and poll, so the option changes nothing else.
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000);
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
      return Result::FromErrno(errno, "SO_SNDTIMEO");
  }
  int rc;
  do {
    rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int err = errno;
    if (err == EACCES || err == EPERM)
      return Result::PermissionDenied("cannot connect to " + path + ": " + std::strerror(err));
    if (err == EAGAIN && timeout.count() > 0)
      return Result::ProtocolError("the blkgate daemon at " + path +
                                   " did not accept the connection within " +
                                   FormatSeconds(timeout));
    return Result::ProtocolError("cannot connect to the blkgate daemon at " + path + ": " +
                                 std::strerror(err));
  }
  out->reset(new Client(std::move(fd), timeout));
  return Result::Ok();
}

Result Client::NextEvent(nlohmann::json* event, std::chrono::milliseconds wait) {
  if (!fd_.valid()) return Result::ProtocolError("connection closed");
  std::string line;
  Result r = ReadLine(wait.count() > 0 ? Clock::now() + wait : kNever, &line);
  if (r.ok()) return protocol::DecodeEvent(line, event);
  if (wait.count() > 0 && r.message().starts_with("no reply within"))
    return Result::ProtocolError("no event within " + FormatSeconds(wait));
  return r;
}

Result Client::ReadLine(Clock::time_point deadline, std::string* line) {
  std::size_t nl;
  while ((nl = buffer_.find('\n')) == std::string::npos) {
    if (buffer_.size() > protocol::kMaxMessage)
      return Result::ProtocolError("reply larger than 1 MiB");
    char buf[65536];
    const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      buffer_.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!WaitUntil(fd_.get(), POLLIN, deadline))
        return Result::ProtocolError("no reply within " + FormatSeconds(timeout_));
      continue;
    }
    const int err = errno;
    fd_.reset();
    if (n == 0) return Result::ProtocolError("the daemon closed the connection");
    return Broken("receiving from the daemon", err);
  }
  *line = buffer_.substr(0, nl);
  buffer_.erase(0, nl + 1);
  return Result::Ok();
}

Result Client::Send(const std::string& wire, Clock::time_point deadline) {
  for (std::size_t off = 0; off < wire.size();) {
    const ssize_t n =
        ::send(fd_.get(), wire.data() + off, wire.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      off += static_cast<std::size_t>(n);
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!WaitUntil(fd_.get(), POLLOUT, deadline))
        return Result::ProtocolError("no reply within " + FormatSeconds(timeout_) +
                                     " (the request was not taken)");
    } else {
      return Broken("sending to the daemon", errno);
    }
  }
  return Result::Ok();
}

Result Client::Call(std::string_view op, const nlohmann::json& args, nlohmann::json* data,
                    std::vector<std::string>* notes) {
  if (!fd_.valid()) return Result::ProtocolError("connection closed");
  const Clock::time_point deadline = timeout_.count() > 0 ? Clock::now() + timeout_ : kNever;
  protocol::Request req;
  req.op = std::string(op);
  req.args = args.is_null() ? nlohmann::json::object() : args;
  if (const char* h = std::getenv("BLKGATE_HOOK_TOKEN"); h && *h) req.hook = h;
  std::string line;
  if (Result sent = Send(protocol::Encode(req), deadline); !sent.ok()) {
    // The daemon may have answered and closed before reading the request (a refusal: too many
    // clients): that answer, when it is there, says more than the failed send.
    if (!ReadLine(Clock::time_point::min(), &line).ok()) {
      fd_.reset();
      return sent;
    }
  } else {
    BLKGATE_TRY(ReadLine(deadline, &line));
  }
  protocol::Reply reply;
  BLKGATE_TRY(protocol::Decode(line, &reply));
  if (data) *data = std::move(reply.data);
  if (notes) *notes = std::move(reply.notes);
  return reply.result;
}

}  // namespace blkgate
